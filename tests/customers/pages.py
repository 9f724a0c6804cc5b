def main_content(response) -> str:
    """The page's <main> element: the layout around it holds the sign-out form every user has."""
    html = response.content.decode()
    return html[html.index('<main id="main"') : html.index("</main>")]
