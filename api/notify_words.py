"""A notice in words, in Chinese, for the webhook's receiver (an SMS or WeChat gateway
sends the text as it is). The pages say the same in the reader's language
(api/web/notices.py); this text needs no request, so it is written here in full."""

from __future__ import annotations

from typing import Any

CATEGORIES = {
    "fire": "火情",
    "public_security": "治安",
    "dispute": "纠纷",
    "sanitation": "环境卫生",
    "resident_need": "居民求助",
    "other": "其他",
}


def _yuan(fen: int) -> str:
    return f"{fen // 100:,}.{fen % 100:02d}"


def notice_text(kind: str, data: dict[str, Any]) -> str:
    """The notice as one short Chinese sentence."""
    category = CATEGORIES.get(str(data.get("category")), "")
    report = f"您报告的{category}事件" if category else "您报告的事件"
    if kind == "report_verified":
        return f"【金豆】{report}已核实，奖励 {data.get('award', 0)} 金豆。谢谢您！"
    if kind == "report_rejected":
        return f"【金豆】{report}未通过核实。原因：{data.get('reason', '')}"
    if kind == "report_duplicate":
        return f"【金豆】{report}已有人报告过，按重复报告处理，不另奖励。"
    if kind == "report_resolved":
        return f"【金豆】{report}已处理完毕。谢谢您！"
    if kind == "handler_assigned":
        what = f"一件{category}事件" if category else "一件事件"
        return f"【金豆】社区请您协助处理{what}，请登录查看详情。"
    if kind == "handling_resolved":
        return f"【金豆】您协助处理的事件已办结，奖励 {data.get('award', 0)} 金豆。谢谢您！"
    if kind == "line_paid":
        total = int(data.get("cash_fen", 0)) + int(data.get("rebate_fen", 0))
        return (
            f"【金豆】{data.get('period', '')} 的结算款 {_yuan(total)} 元已付给贵店"
            f"（付款凭证 {data.get('payment_ref', '')}）。"
        )
    return "【金豆】您有一条新消息，请登录查看。"
