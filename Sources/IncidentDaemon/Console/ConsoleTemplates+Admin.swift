// The admin page's template.
extension ConsoleTemplates {
    static let admin = #"""
        {{<layout}}{{$content}}
        <h1>Admin</h1>
        {{#message}}<p class="error" role="alert">{{message}}</p>{{/message}}
        {{#created}}<p class="created" role="status">Token <strong>{{name}}</strong>, shown this once: <code>{{secret}}</code></p>{{/created}}
        <section aria-labelledby="tokens-heading">
        <h2 id="tokens-heading">Tokens</h2>
        <table class="data">
        <thead><tr><th scope="col">Name</th><th scope="col">Role</th><th scope="col">Created</th><th scope="col">Expires</th><th scope="col">Revoked</th><th scope="col"></th></tr></thead>
        <tbody>
        {{#tokens}}<tr><th scope="row">{{name}}</th><td>{{role}}</td><td>{{created_at}}</td><td>{{expires_at}}</td><td>{{revoked_at}}</td>
        <td>{{^revoked_at}}<form method="post" action="/admin/tokens/{{name}}/revocation"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Revoke</button></form>{{/revoked_at}}</td></tr>
        {{/tokens}}
        </tbody>
        </table>
        <form method="post" action="/admin/tokens" class="filters">
        <input type="hidden" name="csrf" value="{{csrf}}">
        <label for="token-name">Name</label><input id="token-name" name="name" required maxlength="64">
        <label for="token-role">Role</label><select id="token-role" name="role">{{#roles}}<option value="{{.}}">{{.}}</option>{{/roles}}</select>
        <label for="token-days">Days</label><input id="token-days" name="days" type="number" min="1" max="3650" value="90">
        <button type="submit">Make a token</button>
        </form>
        </section>
        <section aria-labelledby="projections-heading">
        <h2 id="projections-heading">Projections</h2>
        <table class="data">
        <thead><tr><th scope="col">Name</th><th scope="col">Up to position</th><th scope="col">Lag</th><th scope="col">Rebuilding</th><th scope="col">Last rebuilt</th><th scope="col"></th></tr></thead>
        <tbody>
        {{#projections}}<tr><th scope="row">{{name}}</th><td>{{as_of}}</td><td>{{lag}}</td><td>{{#rebuilding}}yes{{/rebuilding}}{{^rebuilding}}no{{/rebuilding}}</td><td>{{rebuilt_at}}</td>
        <td><form method="post" action="/admin/projections/{{name}}/rebuild"><input type="hidden" name="csrf" value="{{csrf}}"><button type="submit">Rebuild</button></form></td></tr>
        {{/projections}}
        </tbody>
        </table>
        </section>
        <section aria-labelledby="audit-heading">
        <h2 id="audit-heading">Access audit</h2>
        <form method="get" action="/admin" class="filters">
        <label for="audit-since">From</label><input id="audit-since" name="since" type="date" value="{{audit.since}}">
        <label for="audit-until">To</label><input id="audit-until" name="until" type="date" value="{{audit.until}}">
        <label for="audit-principal">Who</label><input id="audit-principal" name="principal" value="{{audit.principal}}">
        <label for="audit-action">Action</label><input id="audit-action" name="action" value="{{audit.action}}">
        <button type="submit">Show</button>
        </form>
        <table class="data">
        <thead><tr><th scope="col">At</th><th scope="col">Who</th><th scope="col">Role</th><th scope="col">Action</th><th scope="col">Incident or object</th><th scope="col">Reason</th><th scope="col">From</th></tr></thead>
        <tbody>
        {{#records}}<tr><td>{{at}}</td><td>{{principal}}</td><td>{{role}}</td><td>{{action}}</td><td>{{incident_id}}{{target}}</td><td>{{reason}}</td><td>{{client_address}}</td></tr>
        {{/records}}
        </tbody>
        </table>
        {{#nextAudit}}<p><a rel="next" href="{{nextAudit}}">Next page</a></p>{{/nextAudit}}
        </section>
        {{/content}}{{/layout}}
        """#
}
