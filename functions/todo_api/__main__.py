from functions.todo_api.app import create_app
from functions.todo_api.settings import Settings
from shared.web.serve import serve

settings = Settings()
serve(lambda: create_app(settings), settings)
