from functions.reminders.app import create_app
from functions.reminders.settings import Settings
from shared.web.serve import serve

settings = Settings()
serve(lambda: create_app(settings), settings)
