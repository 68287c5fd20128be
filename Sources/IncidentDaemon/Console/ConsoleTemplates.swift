import Mustache

/// The console's pages as Mustache templates, compiled once into the binary: nothing is read
/// from disk at run time. Every page extends `layout`; `{{x}}` escapes, and the only unescaped
/// values (`{{{...}}}`) are SVG the server drew itself.
enum ConsoleTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in sources {
            do { try library.register(text, named: name) } catch { preconditionFailure("console template \(name): \(error)") }
        }
        return library
    }()

    static let sources: [String: String] = [
        "layout": layout, "login": login, "error": error, "overview": overview, "incidents": incidents, "incident": incident,
        "review": review, "map-data": mapData, "admin": admin, "digests": digests,
    ]

    static let layout = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Incident Log</title>
        <link rel="stylesheet" href="/assets/console.css">
        </head>
        <body>
        <header class="bar">
        <a class="brand" href="/">Incident Log</a>
        {{#session}}
        <nav aria-label="Main">
        <a href="/">Overview</a>
        <a href="/incidents">Incidents</a>
        {{#canReview}}<a href="/review">Review</a>{{/canReview}}
        <a href="/digests">Digests</a>
        {{#isAdmin}}<a href="/admin">Admin</a>{{/isAdmin}}
        </nav>
        <form class="signout" method="post" action="/logout">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <span>{{name}} · {{role}}</span>
        <button type="submit">Sign out</button>
        </form>
        {{/session}}
        </header>
        <main id="main">
        {{$content}}{{/content}}
        </main>
        <footer class="marking">{{marking}}</footer>
        </body>
        </html>
        """#

    static let login = #"""
        {{<layout}}{{$content}}
        <h1>Sign in</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <form method="post" action="/login" class="login">
        <input type="hidden" name="csrf" value="{{formToken}}">
        <input type="hidden" name="next" value="{{next}}">
        <label for="token">API token</label>
        <input id="token" name="token" type="password" autocomplete="off" required autofocus>
        <button type="submit">Sign in</button>
        </form>
        <p class="hint">The console is for analysts, reviewers and admins. An admin makes tokens with <code>incidentd token create</code>.</p>
        {{/content}}{{/layout}}
        """#

    static let error = #"""
        {{<layout}}{{$content}}
        <h1>{{heading}}</h1>
        <p class="error" role="alert">{{message}}</p>
        <p><a href="/">Back to the overview</a></p>
        {{/content}}{{/layout}}
        """#

    static let mapData = #"""
        {{<layout}}{{$content}}
        <h1>Map data</h1>
        <pre class="notice">{{notice}}</pre>
        {{/content}}{{/layout}}
        """#
}
