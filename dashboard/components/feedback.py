"""Messages that must outlive a rerun: toasts and success lines queued before ``st.rerun()``."""

from __future__ import annotations

import streamlit as st

_TOASTS = "_pending_toasts"
_FLASH = "_flash"


def toast_later(message: str, icon: str = ":material/check_circle:") -> None:
    """Show a toast on the next run (a toast sent right before ``st.rerun()`` is lost)."""
    st.session_state.setdefault(_TOASTS, []).append((message, icon))


def show_pending_toasts() -> None:
    """Emit queued toasts; called once per run by the router."""
    for message, icon in st.session_state.pop(_TOASTS, []):
        st.toast(message, icon=icon)


def flash(scope: str, message: str) -> None:
    """A success line that stays on ``scope``'s page until replaced or dismissed."""
    st.session_state.setdefault(_FLASH, {})[scope] = message


def show_flash(scope: str) -> None:
    """Draw ``scope``'s success line, if any (already escaped by the caller)."""
    message = st.session_state.get(_FLASH, {}).get(scope)
    if message:
        st.success(message, icon=":material/check_circle:")


def clear_flash(scope: str) -> None:
    st.session_state.get(_FLASH, {}).pop(scope, None)
