"""The dashboard's pages; each file is also an ``st.Page`` script (see ``dashboard/app.py``)."""
