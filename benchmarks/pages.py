# ruff: noqa: E501  (HTML markup: lines are as long as the tags they hold)
"""Page templates for extraction_eval.py: one known article inside a site's boilerplate.

Every template returns a whole HTML document. The boilerplate is what real news and blog
pages carry; its sentences (teasers, captions, comments) come from other articles, so an
extractor cannot tell them from the article by their wording alone.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from html import escape

SITES = ("The Daily Ledger", "Northern Courier", "Metro Wire", "Harbour Times", "Open Notebook")
SECTIONS = ("World", "Business", "Politics", "Tech", "Sport", "Culture", "Science", "Opinion")
NAMES = ("Alex Morgan", "Priya Shah", "Tom Becker", "Lena Ortiz", "Sam Okafor", "Mia Chen")
COMMENTERS = ("jdoe77", "Margaret H.", "realist_42", "Pete from Leeds", "anon", "K. Watanabe")
OPINIONS = (
    "I have been saying this for years and nobody listened until now.",
    "This is exactly why I stopped trusting the official figures on this subject.",
    "Great reporting as always, thank you for covering what others ignore.",
    "Does anyone know whether this will affect people who already signed up last year?",
    "The article misses the point entirely, the real problem started long before that.",
)


@dataclass
class Context:
    title: str
    paragraphs: tuple[str, ...]
    url: str
    rng: random.Random
    pool: list[str]

    @property
    def site(self) -> str:
        return self.rng.choice(SITES)

    def sentence(self) -> str:
        return escape(self.rng.choice(self.pool))

    def headline(self) -> str:
        words = self.rng.choice(self.pool).split()[:8]
        return escape(" ".join(words).rstrip(",.;:"))


def head(c: Context, site: str, *, date: str = "2024-03-05T07:30:00+00:00") -> str:
    ld = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": c.title,
        "datePublished": date,
        "author": {"@type": "Person", "name": c.rng.choice(NAMES)},
        "publisher": {"@type": "Organization", "name": site},
    }
    t = escape(c.title)
    return f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>{t} | {escape(site)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="description" content="{escape(c.paragraphs[0][:150])}">
<meta property="og:title" content="{t}"><meta property="og:site_name" content="{escape(site)}">
<meta property="og:url" content="{c.url}"><meta property="article:published_time" content="{date}">
<link rel="canonical" href="{c.url}"><link rel="stylesheet" href="/static/site.css">
<style>.nav{{display:flex}} .ad-slot{{min-height:250px}} body{{font-family:Georgia,serif}}</style>
<script>window.dataLayer=window.dataLayer||[];function gtag(){{dataLayer.push(arguments)}}
gtag('js',new Date());gtag('config','G-XXXX');var articleText="do not index this string";</script>
<script type="application/ld+json">{json.dumps(ld)}</script></head>"""


def nav(c: Context) -> str:
    items = "".join(f'<li><a href="/{s.lower()}">{s}</a></li>' for s in SECTIONS)
    return f"""<a class="skip" href="#content">Skip to main content</a>
<nav class="nav" aria-label="Main"><a href="/" class="logo">{escape(c.site)}</a><ul>{items}</ul>
<form action="/search"><input name="q" placeholder="Search"><button>Search</button></form>
<a href="/subscribe">Subscribe</a> <a href="/login">Sign in</a></nav>"""


def cookie_banner() -> str:
    return """<div id="cookie-consent" class="cookie-banner" role="dialog"><p>We use cookies and
similar technologies to improve your experience, personalise content and ads, and analyse our
traffic. By clicking accept you agree to the storing of cookies on your device.</p>
<button>Accept all cookies</button><button>Manage preferences</button>
<a href="/privacy">Cookie policy</a></div>"""


def share_bar() -> str:
    links = "".join(
        f'<a href="#" class="share-{n.lower()}">{n}</a>'
        for n in ("Facebook", "Twitter", "LinkedIn", "WhatsApp", "Email")
    )
    return f'<div class="share-bar"><span>Share this article</span>{links}<button>Copy link</button></div>'


def ad(c: Context) -> str:
    return f"""<div class="ad-slot" data-ad-unit="/1234/mid"><span class="ad-label">Advertisement</span>
<script>googletag.cmd.push(function(){{googletag.display('div-gpt-{c.rng.randint(1, 99)}')}});</script>
<a href="https://ads.example.net/click"><p>Sponsored: Retire early with this one simple investment
trick that financial advisers do not want you to know about.</p></a></div>"""


def figure(c: Context) -> str:
    return f"""<figure class="lead-image"><img src="/img/{c.rng.randint(100, 999)}.jpg" alt="">
<figcaption>{c.sentence()} <span class="credit">Photograph: Agency</span></figcaption></figure>"""


def related(c: Context, n: int = 4, tag: str = "aside") -> str:
    items = "".join(
        f'<li><a href="/story/{i}"><h3>{c.headline()}</h3></a><p>{c.sentence()}</p></li>'
        for i in range(n)
    )
    return f'<{tag} class="related"><h2>Related stories</h2><ul>{items}</ul></{tag}>'


def comments(c: Context, n: int = 4) -> str:
    items = "".join(
        f"""<li class="comment"><div class="comment-author">{c.rng.choice(COMMENTERS)}</div>
<time>2 hours ago</time><p>{escape(c.rng.choice(OPINIONS))} {c.sentence()}</p>
<a href="#" class="reply">Reply</a> <span class="likes">{c.rng.randint(0, 90)} likes</span></li>"""
        for _ in range(n)
    )
    return f"""<section id="comments" class="comments"><h2>{n} comments</h2>
<form class="comment-form"><textarea placeholder="Join the discussion"></textarea>
<button>Post comment</button></form><ol class="comment-list">{items}</ol></section>"""


def bio(author: str) -> str:
    return f"""<div class="author-bio"><img src="/authors/1.jpg" alt=""><p><strong>{author}</strong>
is a senior correspondent who has covered politics, business and technology for more than a
decade. Before joining the newsroom she reported from Brussels and Washington.</p>
<a href="/authors/1">More from {author}</a></div>"""


def newsletter(site: str) -> str:
    return f"""<div class="newsletter-box"><h3>Get the morning briefing</h3><p>Sign up for our
free newsletter and get the most important stories from {escape(site)} delivered to your inbox
every weekday morning before breakfast.</p><form><input type="email" placeholder="Your email">
<button>Sign up</button></form><small>You can unsubscribe at any time.</small></div>"""


def footer(site: str) -> str:
    cols = "".join(
        f'<li><a href="/{x.lower().replace(" ", "-")}">{x}</a></li>'
        for x in ("About us", "Contact", "Careers", "Advertise", "Privacy policy", "Terms of use")
    )
    return f"""<footer class="site-footer"><ul>{cols}</ul><p>{escape(site)} is an independent
news organisation funded by its readers and committed to reporting the facts without fear or
favour since 1912.</p><p>Copyright © 2024 {escape(site)} Ltd. All rights reserved.</p></footer>
<script src="/static/app.js" async></script>"""


def body_ps(c: Context, *, every: int = 0, insert: Callable[[], str] | None = None) -> str:
    out = []
    for i, p in enumerate(c.paragraphs, 1):
        out.append(f"<p>{escape(p)}</p>")
        if insert and every and i % every == 0 and i < len(c.paragraphs):
            out.append(insert())
    return "\n".join(out)


def news_article(c: Context) -> str:
    site, author = c.site, c.rng.choice(NAMES)
    return f"""{head(c, site)}<body>{cookie_banner()}<header class="site-header">{nav(c)}</header>
<main id="content"><article class="story"><div class="kicker"><a href="/world">World</a></div>
<h1>{escape(c.title)}</h1><div class="byline">By <a rel="author" href="/a">{author}</a>,
<time datetime="2024-03-05T07:30:00Z">5 March 2024</time></div>{share_bar()}{figure(c)}
<div class="article-body">{body_ps(c, every=3, insert=lambda: ad(c))}</div>
{share_bar()}{bio(author)}</article>{related(c)}{comments(c)}</main>{footer(site)}</body></html>"""


def blog(c: Context) -> str:
    site, author = c.site, c.rng.choice(NAMES)
    recent = "".join(f'<li><a href="/p/{i}">{c.headline()}</a></li>' for i in range(5))
    return f"""{head(c, site, date="2024-03-04")}<body class="single-post"><div id="page" class="site">
<div class="site-branding"><p class="site-title"><a href="/">{escape(site)}</a></p>
<p class="site-description">Notes on news, money and the modern world</p></div>{nav(c)}
<div id="content" class="site-content"><div id="primary" class="content-area">
<div class="post type-post hentry"><div class="entry-header"><h1 class="entry-title">{escape(c.title)}</h1>
<div class="entry-meta">Posted on <span class="posted-on">March 4, 2024</span> by {author}</div></div>
<div class="entry-content">{body_ps(c, every=4, insert=lambda: newsletter(site))}</div>
<div class="entry-footer">Tags: <a href="/t/news">news</a>, <a href="/t/analysis">analysis</a>
{share_bar()}</div>{bio(author)}</div>
<div class="post-navigation"><a href="/prev">Previous post: {c.headline()}</a>
<a href="/next">Next post: {c.headline()}</a></div>{comments(c, 5)}</div>
<div id="secondary" class="widget-area"><div class="widget"><h2>Recent posts</h2><ul>{recent}</ul>
</div><div class="widget"><h2>About</h2><p>{c.sentence()} {c.sentence()}</p></div></div></div>
{footer(site)}</div>{cookie_banner()}</body></html>"""


def table_layout(c: Context) -> str:
    site = c.site
    links = "<br>".join(f'<a href="/{s.lower()}">{s}</a>' for s in SECTIONS)
    text = "<br><br>\n".join(escape(p) for p in c.paragraphs)
    side = "".join(
        f'<p><a href="/s/{i}"><b>{c.headline()}</b></a><br>{c.sentence()}</p>' for i in range(3)
    )
    return f"""{head(c, site, date="2024-03-05T09:00:00")}<body bgcolor="#ffffff">
<table width="100%" cellpadding="4"><tr><td colspan="3"><font size="5">{escape(site)}</font>
| <a href="/">Home</a> | <a href="/archive">Archive</a> | <a href="/contact">Contact</a></td></tr>
<tr><td width="150" valign="top">{links}<br><br>{ad(c)}</td><td valign="top">
<font size="4"><b>{escape(c.title)}</b></font><br><i>Tuesday, March 5, 2024</i><br><br>
<font face="Arial">{text}</font><br><br><a href="/print">Printer-friendly version</a>
| <a href="/email">E-mail this story</a></td><td width="200" valign="top"><b>Also in the news</b>
{side}</td></tr><tr><td colspan="3"><center><small>Copyright © 2024 {escape(site)}.
All rights reserved. Reproduction without permission is prohibited.</small></center></td></tr>
</table></body></html>"""


def div_soup(c: Context) -> str:
    site = c.site
    teasers = "".join(
        f'<div class="css-t{i}"><a href="/n/{i}"><span class="css-h">{c.headline()}</span></a>'
        f'<div class="css-d">{c.sentence()}</div></div>'
        for i in range(4)
    )
    paras = "\n".join(f'<div class="css-1p8dz">{escape(p)}</div>' for p in c.paragraphs)
    promo = f'<div class="css-promo"><div>Read more: {c.headline()}</div></div>'
    mid = len(c.paragraphs) // 2
    split = paras.split("\n")
    paras = "\n".join(split[:mid] + [promo] + split[mid:])
    return f"""{head(c, site)}<body><div id="__next"><div class="css-top">{nav(c)}</div>
<div class="css-trending"><div class="css-lbl">Trending now</div>{teasers}</div>
<div class="css-wrap"><div class="css-hl"><span>{escape(c.title)}</span></div>
<div class="css-by">{c.rng.choice(NAMES)} · 5 min read · Mar 5, 2024</div>{figure(c)}
<div class="css-body">{paras}</div>{share_bar()}</div>
<div class="css-more"><div class="css-lbl">More from {escape(site)}</div>{teasers}</div>
{comments(c, 3)}<div class="css-foot">{footer(site)}</div></div>{cookie_banner()}
<script>self.__next_f.push([1,"{{\\"props\\":{{\\"page\\":\\"article\\"}}}}"])</script></body></html>"""


def magazine(c: Context) -> str:
    site, author = c.site, c.rng.choice(NAMES)
    third = max(1, len(c.paragraphs) // 3)

    def card() -> str:
        return f'<aside class="inline-related"><span>Related</span><a href="/r">{c.headline()}</a></aside>'

    return f"""{head(c, site)}<body>{nav(c)}<div class="breadcrumbs"><a href="/">Home</a> &gt;
<a href="/culture">Culture</a></div><main><section class="hero"><h1>{escape(c.title)}</h1>
<p class="meta">{author} · <time datetime="2024-03-05">
March 5, 2024</time></p>{figure(c)}</section><section class="content">
{body_ps(c, every=third, insert=card)}</section>{newsletter(site)}
<section class="most-read"><h2>Most read</h2><ol>{"".join(f"<li>{c.headline()}</li>" for _ in range(5))}</ol></section>
{related(c, 3, "section")}<div id="disqus_thread">{comments(c, 4)}</div></main>{footer(site)}</body></html>"""


def plain(c: Context) -> str:
    """No telling names: comments and teasers are bare paragraphs in the same column."""
    site = c.site
    also = "".join(f"<p><b>{c.headline()}</b> {c.sentence()} {c.sentence()}</p>" for _ in range(3))
    talk = "".join(
        f"<div><b>{c.rng.choice(COMMENTERS)}</b> wrote:<p>{escape(c.rng.choice(OPINIONS))} "
        f"{c.sentence()}</p></div>"
        for _ in range(4)
    )
    return f"""{head(c, site)}<body><div class="wrap"><div class="top"><a href="/">{escape(site)}</a>
<a href="/news">News</a> <a href="/about">About</a></div><div class="col">
<h2>{escape(c.title)}</h2><div class="date">05/03/2024</div>{body_ps(c)}
<h4>Also on {escape(site)}</h4>{also}<h4>What readers say</h4>{talk}</div>
<div class="bottom">{escape(site)} · 12 High Street · Contact the newsroom</div></div></body></html>"""


TEMPLATES: dict[str, Callable[[Context], str]] = {
    "news": news_article,
    "blog": blog,
    "table": table_layout,
    "divsoup": div_soup,
    "magazine": magazine,
    "plain": plain,
}
