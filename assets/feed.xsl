<?xml version="1.0" encoding="utf-8"?>
<!-- Shown by a browser that opens one of hejnal's RSS or Atom feeds: what a
     feed is, how to subscribe, and the titles it carries. Feed readers ignore it. -->
<xsl:stylesheet version="1.0"
    xmlns:xsl="http://www.w3.org/1999/XSL/Transform"
    xmlns:atom="http://www.w3.org/2005/Atom"
    exclude-result-prefixes="atom">
  <xsl:output method="html" encoding="utf-8" indent="no"
      doctype-system="about:legacy-compat"/>

  <xsl:variable name="lang">
    <xsl:choose>
      <xsl:when test="/rss/channel/language"><xsl:value-of select="substring(/rss/channel/language, 1, 2)"/></xsl:when>
      <xsl:when test="/atom:feed/@xml:lang"><xsl:value-of select="substring(/atom:feed/@xml:lang, 1, 2)"/></xsl:when>
      <xsl:otherwise>en</xsl:otherwise>
    </xsl:choose>
  </xsl:variable>
  <xsl:variable name="pl" select="$lang = 'pl'"/>
  <xsl:variable name="title" select="/rss/channel/title | /atom:feed/atom:title"/>
  <xsl:variable name="self" select="/rss/channel/atom:link[@rel='self']/@href | /atom:feed/atom:link[@rel='self']/@href"/>
  <xsl:variable name="home" select="/rss/channel/link | /atom:feed/atom:link[@rel='alternate']/@href"/>

  <xsl:template match="/">
    <html lang="{$lang}">
      <head>
        <meta charset="utf-8"/>
        <meta name="viewport" content="width=device-width, initial-scale=1"/>
        <title><xsl:value-of select="$title"/></title>
        <style>
          :root { color-scheme: light dark; --accent: #b3261e; }
          body { font: 1.05rem/1.5 system-ui, sans-serif; max-width: 46rem; margin: 0 auto; padding: 1rem; }
          .about { border: 2px solid var(--accent); border-radius: .5rem; padding: .5rem 1rem; }
          code { word-break: break-all; font-size: 1rem; }
          li { margin: .6rem 0; }
          time { display: block; font-size: .85rem; opacity: .75; }
          a { color: inherit; }
        </style>
      </head>
      <body>
        <header>
          <h1><xsl:value-of select="$title"/></h1>
          <section class="about">
            <xsl:choose>
              <xsl:when test="$pl">
                <h2>To jest kanał wiadomości</h2>
                <p>Kanał (RSS lub Atom) czyta czytnik kanałów, nie przeglądarka. Skopiuj ten adres do swojego czytnika, a nowe wiadomości przyjdą same, bez zakładania konta:</p>
              </xsl:when>
              <xsl:otherwise>
                <h2>This is a news feed</h2>
                <p>A feed (RSS or Atom) is read by a feed reader, not a browser. Copy this address into your feed reader and new stories will come to you, with no account needed:</p>
              </xsl:otherwise>
            </xsl:choose>
            <p><code><xsl:value-of select="$self"/></code></p>
            <p>
              <a href="{$home}">
                <xsl:choose>
                  <xsl:when test="$pl">Strona z wiadomościami i wszystkimi kanałami</xsl:when>
                  <xsl:otherwise>The news page, with every feed</xsl:otherwise>
                </xsl:choose>
              </a>
            </p>
          </section>
        </header>
        <main>
          <h2>
            <xsl:choose>
              <xsl:when test="$pl">Najnowsze wiadomości</xsl:when>
              <xsl:otherwise>Latest stories</xsl:otherwise>
            </xsl:choose>
          </h2>
          <ul>
            <xsl:apply-templates select="/rss/channel/item | /atom:feed/atom:entry"/>
          </ul>
        </main>
      </body>
    </html>
  </xsl:template>

  <xsl:template match="item">
    <li>
      <a href="{link}"><xsl:value-of select="title"/></a>
      <time><xsl:value-of select="pubDate"/></time>
    </li>
  </xsl:template>

  <xsl:template match="atom:entry">
    <li>
      <a href="{atom:link[@rel='alternate']/@href}"><xsl:value-of select="atom:title"/></a>
      <time><xsl:value-of select="substring(atom:published, 1, 10)"/></time>
    </li>
  </xsl:template>
</xsl:stylesheet>
