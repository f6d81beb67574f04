"""Reusable pieces of the dashboard's pages: cards, toolbar, forms, dialogs, status views."""
