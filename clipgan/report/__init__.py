"""The aggregated bias report: figures (figures.py) and the HTML page (html.py)."""
