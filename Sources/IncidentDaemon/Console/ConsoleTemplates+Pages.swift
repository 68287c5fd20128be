// The templates of the pages behind sign-in.
extension ConsoleTemplates {
    static let overview = #"""
        {{<layout}}{{$content}}
        <h1>Overview</h1>
        <form method="get" action="/" class="filters">
        <label for="since">From</label><input id="since" name="since" type="date" value="{{since}}">
        <label for="until">To</label><input id="until" name="until" type="date" value="{{until}}">
        <label for="category">Category</label>
        <select id="category" name="category"><option value="">All categories</option>{{#categories}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select>
        <button type="submit">Show</button>
        </form>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <p class="period">{{since}} to {{until}}, compared with {{previousSince}} to {{previousUntil}}. {{disclosure}}</p>
        <dl class="figures">
        {{#figures}}<div><dt>{{label}}</dt><dd>{{value}} <span class="change">{{change}}</span></dd></div>{{/figures}}
        </dl>
        <div class="panels">
        <section aria-labelledby="map-heading">
        <h2 id="map-heading">Incidents by municipality</h2>
        {{{map}}}
        </section>
        <section aria-labelledby="trend-heading">
        <h2 id="trend-heading">The last 8 weeks</h2>
        {{{trend}}}
        </section>
        </div>
        <table class="data">
        <caption>Figures by municipality, {{since}} to {{until}}</caption>
        <thead><tr><th scope="col">Municipality</th><th scope="col">District</th><th scope="col">Incidents</th><th scope="col">Verified</th><th scope="col">Killed</th><th scope="col">Injured</th><th scope="col">Abducted</th><th scope="col">Displaced</th></tr></thead>
        <tbody>
        {{#rows}}<tr><th scope="row"><a href="{{href}}">{{name}}</a></th><td>{{district}}</td><td>{{incidents}}</td><td>{{verified}}</td><td>{{killed}}</td><td>{{injured}}</td><td>{{abducted}}</td><td>{{displaced}}</td></tr>
        {{/rows}}
        </tbody>
        </table>
        {{/content}}{{/layout}}
        """#

    static let incidents = #"""
        {{<layout}}{{$content}}
        <h1>Incidents</h1>
        <form method="get" action="/incidents" class="filters">
        <label for="q">Text</label><input id="q" name="q" type="search" value="{{filter.q}}" maxlength="200">
        <label for="municipality">Municipality</label>
        <select id="municipality" name="municipality"><option value="">Any</option>{{#municipalities}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/municipalities}}</select>
        <label for="district">District</label>
        <select id="district" name="district"><option value="">Any</option>{{#districts}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/districts}}</select>
        <label for="category">Category</label>
        <select id="category" name="category"><option value="">Any</option>{{#categories}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/categories}}</select>
        <label for="status">Status</label>
        <select id="status" name="status"><option value="">Any</option>{{#statuses}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select>
        <label for="since">From</label><input id="since" name="since" type="date" value="{{filter.since}}">
        <label for="until">To</label><input id="until" name="until" type="date" value="{{filter.until}}">
        <button type="submit">Filter</button>
        </form>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <table class="data">
        <caption>{{count}} incidents on this page</caption>
        <thead><tr><th scope="col">Occurred</th><th scope="col">Municipality</th><th scope="col">Category</th><th scope="col">Status</th><th scope="col">Summary</th><th scope="col">Killed</th><th scope="col">Injured</th></tr></thead>
        <tbody>
        {{#items}}<tr><td>{{day}}</td><td>{{municipality}}</td><td>{{category}}</td><td>{{status}}</td><th scope="row"><a href="/incidents/{{id}}">{{summary}}</a></th><td>{{killed}}</td><td>{{injured}}</td></tr>
        {{/items}}
        </tbody>
        </table>
        {{#next}}<p><a rel="next" href="{{next}}">Next page</a></p>{{/next}}
        <p class="downloads">Download the whole filtered list: <a href="/incidents.csv?{{query}}" download>CSV</a> <a href="/incidents.hxl?{{query}}" download>HXL</a></p>
        {{/content}}{{/layout}}
        """#

    static let incident = #"""
        {{<layout}}{{$content}}
        <h1>{{summary}}</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        <div class="columns">
        <dl class="record">
        {{#fields}}<div><dt>{{label}}</dt><dd>{{value}}</dd></div>{{/fields}}
        </dl>
        {{#canReview}}
        <section aria-labelledby="review-heading" class="forms">
        <h2 id="review-heading">Review</h2>
        <form method="post" action="/incidents/{{id}}/decision">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="expected_version" value="{{version}}">
        <label for="note">Note</label><textarea id="note" name="note" required maxlength="2000"></textarea>
        <button type="submit" name="decision" value="verified">Verify</button>
        <button type="submit" name="decision" value="rejected">Reject</button>
        </form>
        <form method="post" action="/incidents/{{id}}/retraction">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="expected_version" value="{{version}}">
        <label for="reason">Retract as</label>
        <select id="reason" name="reason">{{#retractionReasons}}<option value="{{.}}">{{.}}</option>{{/retractionReasons}}</select>
        <button type="submit">Retract</button>
        </form>
        <form method="post" action="/incidents/{{id}}/amendment" class="amend">
        <input type="hidden" name="csrf" value="{{csrf}}"><input type="hidden" name="expected_version" value="{{version}}">
        <fieldset><legend>Amend</legend>
        {{#amendable}}<label for="amend-{{name}}">{{label}}</label><input id="amend-{{name}}" name="{{name}}" value="{{value}}">
        {{/amendable}}<label for="amend-reason">Reason</label><input id="amend-reason" name="reason" required maxlength="1000">
        <button type="submit">Amend</button>
        </fieldset>
        </form>
        </section>
        {{/canReview}}
        </div>
        <section aria-labelledby="history-heading">
        <h2 id="history-heading">History</h2>
        <ol class="timeline">
        {{#history}}<li><time>{{at}}</time> <strong>{{type}}</strong>{{#by}} by {{by}}{{/by}}{{#detail}}: {{detail}}{{/detail}}</li>{{/history}}
        </ol>
        </section>
        {{/content}}{{/layout}}
        """#

    static let digests = #"""
        {{<layout}}{{$content}}
        <h1>Weekly digest</h1>
        <form method="get" action="/digests" class="filters">
        <label for="week">Week</label>
        <select id="week" name="week">{{#weeks}}<option value="{{code}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/weeks}}</select>
        <button type="submit">Show</button>
        </form>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#week}}
        <p class="period">{{week}}: {{from}} to {{to}}. {{sensitivity}}</p>
        <dl class="figures">
        {{#figures}}<div><dt>{{label}}</dt><dd>{{value}} <span class="change">{{change}}</span></dd></div>{{/figures}}
        </dl>
        {{{trend}}}
        <h2>The digest in every format</h2>
        <ul class="downloads">{{#formats}}<li><a href="/digests/{{week}}.{{ext}}" download>{{label}}</a></li>{{/formats}}</ul>
        {{/week}}
        {{/content}}{{/layout}}
        """#

    static let review = #"""
        {{<layout}}{{$content}}
        <h1>Review queue</h1>
        <p>Incidents reported and not yet decided, oldest first.</p>
        <table class="data">
        <caption>{{count}} incidents waiting</caption>
        <thead><tr><th scope="col">Occurred</th><th scope="col">Reported</th><th scope="col">Municipality</th><th scope="col">Category</th><th scope="col">Summary</th></tr></thead>
        <tbody>
        {{#items}}<tr><td>{{day}}</td><td>{{reported}}</td><td>{{municipality}}</td><td>{{category}}</td><th scope="row"><a href="/incidents/{{id}}">{{summary}}</a></th></tr>
        {{/items}}
        </tbody>
        </table>
        {{/content}}{{/layout}}
        """#
}
