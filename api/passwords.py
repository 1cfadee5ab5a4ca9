"""What makes a new password acceptable: 8 to 256 characters, and not easy to guess.

"Easy to guess" is Dropbox's zxcvbn estimator (the maintained Python port): it knows the
common-password lists, English words and names, keyboard walks, repeats, sequences and
dates, and the user's own name. A password is accepted when zxcvbn estimates at least
10^8 guesses for it (where its score 3, "safely unguessable", begins; the score itself
starts a hair above, which no 8-character password reaches): ``password1``,
``12345678`` and ``alice2026`` for the user alice are refused; several unrelated words,
or 8 random characters, pass. Only new passwords are
checked (creating a user); signing in with an older one still works.

Framework-free: the API's schemas, :func:`api.auth.check_new_user` and the pages all ask
:func:`password_problem`, so they cannot disagree.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

MIN_PASSWORD, MAX_PASSWORD = 8, 256
MIN_GUESSES = 10**8
# zxcvbn refuses longer input (its matching is quadratic); a password is judged by its
# first characters, so 100 x "a" stays weak.
ESTIMATED_LENGTH = 72
# Words every password of this site is likely to borrow.
SITE_WORDS = ("jindou", "金豆")

TOO_SHORT = f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters"
TOO_EASY = (
    "this password is too easy to guess (a common password, a name, a date or a pattern); "
    "use a longer one, such as three or four unrelated words"
)


def password_problem(password: object, *related: str | None) -> str | None:
    """None if ``password`` may be a new password, else why not (:data:`TOO_SHORT` or
    :data:`TOO_EASY`). ``related`` are words a guesser would try first for this user:
    the username, the person's name."""
    if not isinstance(password, str) or not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        return TOO_SHORT
    words = []
    for word in (*related, *SITE_WORDS):
        if word:  # "Li Wei" is tried as "Li Wei", "LiWei", "Li" and "Wei"
            words += [word, word.replace(" ", ""), *word.split()]
    estimate = zxcvbn(password[:ESTIMATED_LENGTH], user_inputs=words)
    if estimate["guesses"] < MIN_GUESSES:
        return TOO_EASY
    return None
