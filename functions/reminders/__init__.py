"""reminders: one Dapr job per reminder; when a job fires, `reminder.due` goes to `reminders`."""
