from functions.recurring.app import create_app
from functions.recurring.settings import Settings
from shared.web.serve import serve

settings = Settings()
serve(lambda: create_app(settings), settings)
