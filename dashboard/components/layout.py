"""Small layout helpers shared by pages."""

from __future__ import annotations

import streamlit as st


def section(title: str) -> None:
    """A section heading inside a bordered box (``title`` must already be markdown-safe)."""
    st.markdown(f"##### {title}")
