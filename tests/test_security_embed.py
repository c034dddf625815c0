"""The embed on a publisher's page believes "this reader is a supporter" only from our own
pages (issue 11, finding 10), in a real headless Chromium."""

import pytest

POSTER = "<script>parent.postMessage({type: 'reader-support:supporter'}, '*')</script>"


def _serve(page, url, html):
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))


def _frame(page, url):
    page.evaluate(
        """url => new Promise(done => {
            const frame = document.createElement('iframe');
            frame.onload = done;
            frame.src = url;
            document.body.append(frame);
        })""",
        url,
    )


def _supporter_marked(page):
    return page.evaluate("'sup' in (JSON.parse(localStorage.getItem('reader-support') || '{}'))")


@pytest.mark.browser
def test_only_the_service_origin_may_mark_the_reader_as_supporter(page, live_server):
    # Other origins on the loopback address (a private network page may load the embed script
    # from there); the browser never reaches them: Playwright answers for them.
    port = live_server.url.rsplit(":", 1)[1]
    publisher = f"http://127.0.0.1:{port}"
    stranger = f"http://127.0.0.1:{int(port) + 1}"
    assert publisher != live_server.url
    _serve(
        page,
        f"{publisher}/article",
        f'<html><body><p>Story</p><script src="{live_server.url}/embed.js" async></script>'
        "</body></html>",
    )
    # The script itself comes from the live server, relayed by Playwright: Chromium would refuse
    # a page it was not itself served from the loopback address reaching that address.
    page.route(f"{live_server.url}/embed.js", lambda route: route.fulfill(response=route.fetch()))
    _serve(page, f"{stranger}/frame", POSTER)
    _serve(page, f"{live_server.url}/poster-for-test", POSTER)
    page.goto(f"{publisher}/article")
    page.wait_for_function("window.__readerSupport === 1", timeout=10_000)

    _frame(page, f"{stranger}/frame")
    page.evaluate("new Promise(done => setTimeout(done, 300))")  # the message is delivered

    assert not _supporter_marked(page)

    _frame(page, f"{live_server.url}/poster-for-test")
    page.wait_for_function(
        "'sup' in (JSON.parse(localStorage.getItem('reader-support') || '{}'))", timeout=5000
    )
