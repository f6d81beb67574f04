"""Failure alerts: rules over recent executions, an incident store, and delivery."""
