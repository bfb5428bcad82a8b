from functions.realtime.app import create_app
from functions.realtime.settings import Settings
from shared.web.serve import serve

settings = Settings()
serve(lambda: create_app(settings), settings)
