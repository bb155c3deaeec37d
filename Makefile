.PHONY: demo test bench lock messages
demo:            ## run the system with a demo city (web + Celery worker + beat)
	scripts/demo.sh
test:            ## the whole test suite, as CI runs it
	scripts/test.sh
bench:           ## the benchmarks on the medium city (see bench/README.md)
	scripts/bench.sh
lock:            ## re-pin requirements.lock from requirements.in
	.venv/bin/pip-compile -q --strip-extras --no-header --no-emit-index-url --no-emit-find-links --output-file requirements.lock requirements.in
messages:        ## refresh and compile the zh-hans translations
	.venv/bin/python manage.py makemessages -l zh_Hans --ignore '.venv/*' --ignore '.local/*' && .venv/bin/python manage.py compilemessages --ignore '.venv/*'
