-- wrk: every request is one streamed chat turn; the body is set per target by bench/__main__.py
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "text/event-stream"
wrk.body = os.getenv("BENCH_BODY")
