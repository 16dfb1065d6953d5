"""The public history feeds, /history.atom and /history.rss (ARCHITECTURE.md §4).

One entry per public incident update or public maintenance log entry, newest first, at most
FEED_LIMIT. An entry's id is its permalink (the public page anchored at the update), so it is
stable and readers never show an update twice. Built by Django's feed generator (valid Atom
1.0 and RSS 2.0, XML-escaped), bodies rendered from Markdown and sanitized, served from the
status page cache with CORS like the JSON.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed

from ops_portal.markdown import render_markdown

from .branding import branding
from .responses import cached_response, public_read
from .selectors.feed import feed_entries
from .v2 import absolute_url

ATOM = "application/atom+xml; charset=utf-8"
RSS = "application/rss+xml; charset=utf-8"


def _feed(feed_class: type[SyndicationFeed], url_name: str) -> str:
    name = branding().name
    feed_url = absolute_url(reverse(url_name))
    feed = feed_class(
        title=f"{name} status history",
        link=absolute_url(reverse("statuspage:home")),
        description=f"Incident and maintenance updates from the {name} status page.",
        language="en",
        feed_url=feed_url,
        feed_guid=feed_url,
        author_name=name,
    )
    for entry in feed_entries():
        link = absolute_url(entry.path)
        feed.add_item(
            title=entry.title,
            link=link,
            description=render_markdown(entry.update.body),
            unique_id=link,
            unique_id_is_permalink=True,
            pubdate=entry.update.created_at,
            updateddate=entry.update.created_at,
            categories=[entry.kind],
        )
    return feed.writeString("utf-8")


@public_read(json=False)
def history_atom(request: HttpRequest) -> HttpResponse:
    return cached_response(
        request,
        "feed:atom",
        lambda: _feed(Atom1Feed, "statuspage:history-atom"),
        content_type=ATOM,
        cors=True,
    )


@public_read(json=False)
def history_rss(request: HttpRequest) -> HttpResponse:
    return cached_response(
        request,
        "feed:rss",
        lambda: _feed(Rss201rev2Feed, "statuspage:history-rss"),
        content_type=RSS,
        cors=True,
    )
