# The commands people and CI use; each is a thin call to scripts/taskwave.
.PHONY: up down status check test unit chaos schemas clean

up:         ## install what is missing, start the whole stack, print the URLs
	./scripts/taskwave up

down:       ## stop a stack started in another terminal
	./scripts/taskwave down

status:
	./scripts/taskwave status

check:      ## the quick gate (<30 s warm): ruff lint + format check, mypy strict over all Python
	./scripts/taskwave check

test:       ## everything: lint, types, unit and integration tests on the real stack
	./scripts/taskwave test

unit:       ## fast loop: no stack needed, no coverage (which costs the in-process tests ~80% CPU)
	./scripts/taskwave test -m "not integration" --no-cov

chaos:      ## only the chaos suite (part of `make test` too): faults on the real stack, ~7 min
	./scripts/taskwave test -m chaos tests/chaos

schemas:    ## regenerate shared/schemas/ from the event models
	./scripts/taskwave schemas

clean:      ## forget local data (tasks, topics, jobs); caches stay
	./scripts/taskwave down || true
	rm -rf .run
