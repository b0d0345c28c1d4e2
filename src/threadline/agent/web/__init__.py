"""The web tools' machinery (issue 14 item 7): what ``web_fetch`` may reach, fetching a page within
limits, HTML to Markdown, the search backends, and their configuration. The tools themselves are
``agent/tools/web.py``.

    reach.py      which addresses may be reached; a connection backend that connects only to checked ones
    fetching.py   GET with redirects re-checked hop by hop, a size and a time limit, charset decoding
    markdown.py   HTML to readable Markdown (the standard library's ``html.parser``)
    search.py     SearXNG's JSON API, Brave and Tavily, as one compact list of results
    config.py     WebConfig (``$THREADLINE_HOME/web.json``, mode 0600): backend, URLs, keys (masked), reach
    errors.py     WebError and Refused

Errors: ``WebError`` (its message is for the model), with ``Refused`` (a destination that may not be
reached) below it; ``config.py`` raises ``BadRequest`` for a bad change of the configuration.
"""
