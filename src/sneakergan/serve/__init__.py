"""`sneakergan serve`: the sneaker studio, a web page and a JSON API over the two stages.

studio.py holds the models (loaded once; one request at a time, off the event loop, time-bounded),
app.py the FastAPI app (`create_app`), studio.html the page (inline script and style, no build step).
"""

from sneakergan.serve.app import create_app

__all__ = ["create_app"]
