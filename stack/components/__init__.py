"""One module per part of the local stack; `stack.services.Stack` only coordinates them.

(Stack components: the processes the launcher runs. Dapr's own "components" are the
YAML files under dapr/components/.)
"""
