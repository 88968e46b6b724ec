"""Det(Com)² report: generated REPORT.md and figures (``python -m agents.detcom report``)."""
