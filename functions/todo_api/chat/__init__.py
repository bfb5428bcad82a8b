"""The built-in chat: understands task requests offline and acts through the task service.

understand.py reads a message as an Intent (intent.py): lists first (understand_lists.py),
then tasks, with dates from when.py. engine.py runs a turn: it keeps the conversation's
memory (conversation.py), lets an LLM pick the intents when one is set up (llm.py), and
hands each intent to task_actions.py or list_actions.py; sharing.py finds and words lists.
"""
