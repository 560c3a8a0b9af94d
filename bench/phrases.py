"""Phrase pools for bench/syndicate.py: what republishing sites add around a story.

Written for this generator (not taken from any corpus). Each seed draws its own subset, so two
seeds give their sites different intros, credits, disclaimer blocks and appeals. Placeholders:
{src} the site credited, {site} the republishing site's name, {url} the credited page's URL,
{year} the page's year, {date} / {counter} / {name} per-page values of a "variant" block.
"""

from __future__ import annotations

INTROS: dict[str, list[str]] = {
    "en": [
        "This article was first published by {src}.",
        "Originally published at {src}. Republished with permission.",
        "The following report comes to us from our partners at {src}.",
        "Via {src}:",
        "{src} reports:",
        "Editor's note: this story is shared under a content-sharing agreement with {src}.",
        "We are reposting this piece from {src} because we think our readers should see it.",
        "From the wires, by way of {src}.",
        "Cross-posted from {src}.",
        "Here is what {src} had to say about it.",
        "Reprinted from {src}; lightly formatted for this site.",
        "A hat tip to {src}, where this first appeared.",
        "Syndicated from {src}.",
        "What follows ran on {src} earlier this week.",
        "Partner content: {src}.",
        "Shared with us by the newsroom at {src}.",
        "ICYMI — this one from {src} is worth your time.",
        "Our friends at {src} published this, and we are passing it on.",
    ],
    "es": [
        "Este artículo se publicó originalmente en {src}.",
        "Vía {src}:",
        "Reproducimos a continuación el texto publicado por {src}.",
        "Publicado con autorización de {src}.",
    ],
    "fr": [
        "Cet article a d'abord été publié par {src}.",
        "Repris de {src} avec son autorisation.",
        "Nous relayons ici un texte paru sur {src}.",
    ],
    "de": [
        "Dieser Beitrag erschien zuerst bei {src}.",
        "Übernommen von {src}, mit freundlicher Genehmigung.",
        "Wir dokumentieren hier einen Text von {src}.",
    ],
    "pt": [
        "Este texto foi publicado originalmente em {src}.",
        "Reproduzido de {src}, com autorização.",
    ],
}

CREDITS: dict[str, list[str]] = {
    "en": [
        "Source: {src}",
        "© {year} {src}. All rights reserved. Used by permission.",
        "This story appeared first on {src} ({url}).",
        "Read the original at {url}",
        "Article courtesy of {src}.",
        "Copyright {src}; reproduced here for non-commercial purposes.",
        "The views expressed are those of the author and {src}, not necessarily ours.",
        "Republished from {src} under its syndication terms.",
        "Story by {src}. Photos and layout by {site}.",
        "Originally seen on {src}. Follow them for more.",
        "Content provided by {src} via our newswire feed.",
        "{src} retains copyright of this report.",
    ],
    "es": ["Fuente: {src}", "Artículo cortesía de {src}.", "© {year} {src}. Todos los derechos reservados."],
    "fr": ["Source : {src}", "Article reproduit avec l'aimable autorisation de {src}."],
    "de": ["Quelle: {src}", "© {year} {src}. Alle Rechte vorbehalten."],
    "pt": ["Fonte: {src}", "Texto cedido por {src}."],
}

# Sentences a site's fixed disclaimer / fair-use / policy block is drawn from.
DISCLAIMER: dict[str, list[str]] = {
    "en": [
        "The opinions expressed in republished articles are solely those of their authors.",
        "{site} does not necessarily endorse the views of the original publishers.",
        "We publish this material in the interest of public education and open debate.",
        "This site contains copyrighted material whose use has not always been specifically authorised by the owner.",
        "We believe this constitutes fair use of such material as provided for in copyright law.",
        "If you wish to use copyrighted material from this site for purposes of your own that go"
        " beyond fair use, you must obtain permission from the copyright owner.",
        "Material is distributed without profit to those who have expressed a prior interest in"
        " receiving it for research and educational purposes.",
        "{site} is not responsible for the accuracy of third-party content.",
        "Readers are encouraged to verify information with primary sources before relying on it.",
        "Nothing on this website constitutes legal, medical or financial advice.",
        "Comments are moderated and may take up to twenty-four hours to appear.",
        "Please keep comments civil; personal attacks and spam will be removed without notice.",
        "Corrections can be sent to our editors using the contact form at the bottom of every page.",
        "Links to outside websites are provided for convenience and do not imply endorsement.",
        "Reproduction of this article is permitted provided the original source and a live link are credited.",
        "Our republishing policy is available on the About page.",
        "Images may be subject to separate licences; contact the photographers directly for reuse.",
        "{site} participates in affiliate programmes and may earn a commission on purchases made"
        " through links on this page.",
        "Articles are selected by volunteer editors and posted as received, with only minor formatting changes.",
        "By continuing to read you agree to our terms of service and privacy notice.",
        "We take no position on any candidate or party and do not accept political advertising.",
        "The publisher reserves the right to remove any content at its sole discretion.",
        "All trademarks mentioned belong to their respective owners.",
        "If you believe an item infringes your rights, write to us and we will review it promptly.",
        "This notice applies to every article syndicated on {site}.",
        "Stories from partner outlets are reviewed for formatting, not for content.",
        "Independent journalism depends on readers like you sharing what they find valuable.",
        "We never sell reader data and we do not run tracking advertisements.",
    ],
    "es": [
        "Las opiniones expresadas en los artículos reproducidos son exclusivamente de sus autores.",
        "{site} no se hace responsable de la exactitud del contenido de terceros.",
        "Se permite la reproducción citando la fuente original y enlazando a ella.",
        "Este material se difunde sin ánimo de lucro con fines informativos y educativos.",
        "Los comentarios son moderados y pueden tardar en aparecer.",
        "Si considera que algún contenido vulnera sus derechos, escríbanos y lo revisaremos.",
    ],
    "fr": [
        "Les opinions exprimées dans les articles repris n'engagent que leurs auteurs.",
        "{site} ne saurait être tenu responsable de l'exactitude des contenus tiers.",
        "La reproduction est autorisée à condition de citer la source et d'y faire un lien.",
        "Ce contenu est diffusé sans but lucratif, à des fins d'information.",
        "Les commentaires sont modérés avant publication.",
    ],
    "de": [
        "Die in übernommenen Beiträgen geäußerten Meinungen sind allein die ihrer Autoren.",
        "{site} übernimmt keine Haftung für Inhalte Dritter.",
        "Eine Weiterverbreitung ist unter Nennung der Quelle und mit Link gestattet.",
        "Kommentare werden vor der Veröffentlichung geprüft.",
        "Diese Inhalte werden ohne Gewinnabsicht zu Informationszwecken verbreitet.",
    ],
    "pt": [
        "As opiniões expressas nos artigos reproduzidos são de responsabilidade de seus autores.",
        "{site} não se responsabiliza pela exatidão de conteúdos de terceiros.",
        "A reprodução é permitida desde que citada a fonte original com link.",
        "Os comentários são moderados antes da publicação.",
    ],
}

APPEALS: dict[str, list[str]] = {
    "en": [
        "If you value this work, please consider a small monthly donation. Every contribution keeps"
        " {site} free for everyone.",
        "{site} is reader-funded. We take no money from corporations or governments, so we rely on you.",
        "Become a member today: members get early access, an ad-free site and our weekly briefing.",
        "Chip in what you can. Even the price of a coffee helps us keep reporting.",
        "Support independent media: subscribe, share and tell a friend about {site}.",
        "Our servers, writers and editors cost money. Help us reach this month's goal.",
        "Join the thousands of readers who already back {site} with a recurring gift.",
        "Donations are tax-deductible where the law allows. Thank you for standing with us.",
        "Like what you read? Sign up for the newsletter and never miss a story.",
        "We are a small team and your support matters more than ever this year.",
        "Members keep this site running. Pick a plan that suits you and cancel any time.",
        "Please whitelist {site} in your ad blocker or support us directly.",
    ],
    "es": [
        "Si valoras este trabajo, considera hacer una donación. {site} se sostiene gracias a sus lectores.",
        "Hazte socio hoy y apoya el periodismo independiente.",
    ],
    "fr": [
        "Si vous appréciez notre travail, soutenez {site} par un don, même modeste.",
        "Devenez membre et soutenez une information indépendante.",
    ],
    "de": [
        "Wenn Ihnen unsere Arbeit etwas wert ist, unterstützen Sie {site} mit einer Spende.",
        "Werden Sie Mitglied und sichern Sie unabhängigen Journalismus.",
    ],
    "pt": [
        "Se você valoriza este trabalho, apoie {site} com uma doação.",
        "Torne-se membro e apoie o jornalismo independente.",
    ],
}

# Lines of a block that change on every page: a date, a counter, a name.
VARIANT_LINES: list[str] = [
    "This page was last reviewed on {date}.",
    "Archive item no. {counter}.",
    "Today's duty editor: {name}.",
    "You are reading story {counter} of our syndication feed.",
    "Compiled by {name} for the {date} edition.",
    "Posted to the partner feed on {date} (ref. {counter}).",
]

NAMES: list[str] = [
    "Ana Ribeiro", "Tom Whitaker", "Leila Haddad", "Jonas Berg", "Mei Chen", "Carlos Duarte", "Priya Nair",
    "Oskar Lind", "Grace Okafor", "Hannah Moser", "Ivan Petrov", "Sofia Marini", "Daniel Kim", "Ruth Abebe",
]

READ_MORE: dict[str, list[str]] = {
    "en": [
        "Read the full story at {src}",
        "Continue reading on {src}",
        "Read more at {src} »",
        "The rest of this article is available at {src}.",
        "Full report: {src}",
        "Keep reading at {src} →",
        "Click here to read the complete article on {src}.",
        "For the whole piece, head over to {src}.",
    ],
    "es": ["Lee la nota completa en {src}", "Sigue leyendo en {src}"],
    "fr": ["Lire la suite sur {src}", "L'article complet est à lire sur {src}."],
    "de": ["Weiterlesen bei {src}", "Den vollständigen Artikel lesen Sie bei {src}."],
    "pt": ["Leia a matéria completa em {src}", "Continue lendo em {src}"],
}

TEASER_HEADS: dict[str, list[str]] = {
    "en": [
        "Related", "Read also", "More from {site}", "You may have missed", "Trending now", "Most read",
        "Don't miss",
    ],
    "es": ["Relacionado", "Te puede interesar", "Lo más leído"],
    "fr": ["À lire aussi", "Les plus lus"],
    "de": ["Mehr zum Thema", "Meistgelesen"],
    "pt": ["Leia também", "Mais lidas"],
}

FOLLOW_LEADS: dict[str, list[str]] = {
    "en": [
        "As previously reported by {src},",
        "As {src} reported earlier,",
        "Earlier coverage from {src} put it this way:",
        "For background, here is how {src} first described it:",
        "We covered the first part of this story before:",
        "Recall what was reported at the time:",
        "Quoting the earlier report from {src}:",
        "Some context from our previous coverage:",
    ],
    "es": ["Como informó anteriormente {src},", "Recordemos lo publicado entonces:"],
    "fr": ["Comme l'avait rapporté {src},", "Rappel de notre précédent article :"],
    "de": ["Wie {src} zuvor berichtete:", "Zur Erinnerung, was damals berichtet wurde:"],
    "pt": ["Como noticiado anteriormente por {src},", "Relembre o que foi publicado:"],
}

UPDATE_LINES: list[str] = [
    "Update: this article has been updated with additional information since it was first published.",
    "UPDATED at {time}: adds comment from officials.",
    "Correction: an earlier version of this story misstated a figure.",
    "This story has been updated to reflect new developments.",
    "Editor's note: the headline of this article was changed after publication.",
]

NEWSLETTER: list[str] = [
    "View this email in your browser",
    "You are receiving this email because you subscribed to updates from {site}.",
    "Unsubscribe | Update your preferences | Forward to a friend",
    "Add us to your address book so our newsletters reach your inbox.",
    "Was this newsletter forwarded to you? Sign up here to get it every morning.",
    "Our mailing address is available on the contact page of {site}.",
    "Today's edition",
    "Top stories this week",
    "Thanks for reading. See you tomorrow.",
    "Manage your subscription settings at any time.",
    "Sponsored by our partners. Advertise with us.",
    "Copyright {year} {site}, all rights reserved.",
]

HEADLINE_PATTERNS: list[str] = [
    "{h}: what we know",
    "Report: {h}",
    "{h} (update)",
    "WATCH: {h}",
    "Here's why {h}",
    "{h} — latest",
    "{h}, sources say",
    "Explainer: {h}",
    "{h} | analysis",
    "BREAKING: {h}",
    "Opinion: {h}",
    "In brief: {h}",
]

# Word-level rewordings used by the `edited` transform (applied case-sensitively on word boundaries).
REWORD: list[tuple[str, str]] = [
    ("said", "stated"), ("says", "states"), ("told", "informed"), ("about", "around"), ("because", "since"),
    ("many", "numerous"), ("big", "large"), ("also", "additionally"), ("people", "individuals"),
    ("announced", "unveiled"), ("percent", "per cent"), ("children", "kids"), ("help", "assist"),
    ("show", "indicate"), ("However,", "But"), ("According to", "Per"), ("begin", "start"), ("buy", "purchase"),
    ("enough", "sufficient"), ("very", "extremely"), ("quickly", "rapidly"), ("important", "significant"),
    ("problem", "issue"), ("whole", "entire"), ("next", "upcoming"), ("now", "currently"), ("often", "frequently"),
    ("small", "modest"), ("get", "obtain"), ("need", "require"), ("think", "believe"), ("try", "attempt"),
]
