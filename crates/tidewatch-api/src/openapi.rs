//! `GET /openapi.json`: the OpenAPI 3 description of every route, written by hand.
//!
//! Guarantees: [`ROUTES`] lists every route the router serves, each with its method,
//! parameters, the role it needs and its answers (tests check that every documented route is
//! served with the documented auth, and that every route the integration tests call is
//! documented); the document is built from that table. Parameters and bodies are declared as
//! strictly as the server checks them: enums for every closed set, `date-time` for times,
//! ranges for numbers (the page size from the running config), lengths for strings, and
//! `additionalProperties: false` on bodies and on the error object.

use serde_json::{json, Map, Value};

use crate::params::{LABELS, MAX_FILTER_VALUES, MAX_VALUE_BYTES, SEVERITIES, STORY_STATES};
use crate::routes::alerts::{MAX_NOTE_BYTES, MAX_SNOOZE_MINUTES};

/// One documented route.
pub(crate) struct RouteDoc {
    pub(crate) method: &'static str,
    pub(crate) path: &'static str,
    pub(crate) summary: &'static str,
    /// None: no auth.
    pub(crate) role: Option<&'static str>,
    pub(crate) query: &'static [&'static str],
    pub(crate) csv: bool,
}

const RANGE: [&str; 2] = ["from", "to"];

pub(crate) const ROUTES: &[RouteDoc] = &[
    RouteDoc { method: "get", path: "/api/v1/whoami", summary: "The token's name and role", role: Some("viewer"), query: &[], csv: false },
    RouteDoc { method: "get", path: "/api/v1/watches", summary: "Watch names seen in posts or alerts", role: Some("viewer"), query: &[], csv: false },
    RouteDoc { method: "get", path: "/api/v1/trends", summary: "Volume and sentiment per time bucket and group; buckets without posts are absent", role: Some("viewer"), query: &[RANGE[0], RANGE[1], "interval", "group_by", "watch", "source", "language", "label", "format"], csv: true },
    RouteDoc { method: "get", path: "/api/v1/share-of-voice", summary: "Each watch's share of watched posts", role: Some("viewer"), query: &[RANGE[0], RANGE[1], "source", "language"], csv: false },
    RouteDoc { method: "get", path: "/api/v1/posts", summary: "Posts, newest first, paged by cursor; q is a case-insensitive substring of the text", role: Some("viewer"), query: &["watch", "source", "label", "language", RANGE[0], RANGE[1], "q", "limit", "cursor", "format"], csv: true },
    RouteDoc { method: "get", path: "/api/v1/stories", summary: "Stories (from alert events), most recently active first", role: Some("viewer"), query: &["watch", "state", "severity", RANGE[0], RANGE[1], "limit"], csv: false },
    RouteDoc { method: "get", path: "/api/v1/stories/{story_id}", summary: "A story with timeline, first post, top posts and authors, sources, languages and events", role: Some("viewer"), query: &[], csv: false },
    RouteDoc { method: "get", path: "/api/v1/alerts", summary: "Alerts with their handling status (open unless a later action or a resolved event changed it)", role: Some("viewer"), query: &["status", "watch", "severity", RANGE[0], RANGE[1], "limit"], csv: false },
    RouteDoc { method: "get", path: "/api/v1/alerts/stream", summary: "Server-sent events named `alert` (data: the alert object, id: a version) after any change; a Last-Event-ID header resumes from that version (up to an hour back); `: keepalive` every 15 s; a bearer header or ?ticket= from POST /api/v1/stream-ticket; 429 beyond api.max_streams_per_token or api.max_streams open streams", role: Some("viewer"), query: &["ticket"], csv: false },
    RouteDoc { method: "post", path: "/api/v1/stream-ticket", summary: "A ticket that opens the alert stream (?ticket=) for 60 s, so that browsers never put the token in a URL", role: Some("viewer"), query: &[], csv: false },
    RouteDoc { method: "get", path: "/api/v1/alerts/{story_id}", summary: "One alert with its events and actions", role: Some("viewer"), query: &[], csv: false },
    RouteDoc { method: "post", path: "/api/v1/alerts/{story_id}/ack", summary: "Acknowledge; body optional {\"note\":\"…\"}", role: Some("responder"), query: &[], csv: false },
    RouteDoc { method: "post", path: "/api/v1/alerts/{story_id}/resolve", summary: "Resolve; body optional {\"note\":\"…\"}", role: Some("responder"), query: &[], csv: false },
    RouteDoc { method: "post", path: "/api/v1/alerts/{story_id}/snooze", summary: "Snooze; body {\"minutes\":60} (1 to 10080), optional note", role: Some("responder"), query: &[], csv: false },
    RouteDoc { method: "post", path: "/api/v1/alerts/{story_id}/unsnooze", summary: "Unsnooze; body optional {\"note\":\"…\"}", role: Some("responder"), query: &[], csv: false },
    RouteDoc { method: "get", path: "/api/v1/health/collectors", summary: "Latest health check of every collector", role: Some("admin"), query: &[], csv: false },
    RouteDoc { method: "get", path: "/openapi.json", summary: "This document", role: None, query: &[], csv: false },
    RouteDoc { method: "get", path: "/", summary: "The dashboard (index.html)", role: None, query: &[], csv: false },
    RouteDoc { method: "get", path: "/assets/{path}", summary: "Dashboard files", role: None, query: &[], csv: false },
];

fn parameter_description(name: &str) -> &'static str {
    match name {
        "from" => "RFC 3339 start (inclusive); default: to minus 24 hours",
        "to" => "RFC 3339 end (exclusive); default: now; at most max_range_days (90) after from",
        "interval" => "1m, 5m (default), 15m, 1h or 1d",
        "group_by" => "watch (default), source, language or label",
        "watch" | "source" | "language" | "label" | "state" | "severity" | "status" => {
            "exact match; repeat the parameter or separate values with commas"
        }
        "format" => "json (default) or csv",
        "q" => "case-insensitive substring of the post text",
        "limit" => "page size, default 50, at most max_page_size (1000)",
        "cursor" => "next_cursor of the previous page",
        "ticket" => {
            "a ticket from POST /api/v1/stream-ticket, for EventSource which cannot send headers"
        }
        _ => "",
    }
}

/// A list filter: repeated (or comma-separated) values, each bounded like the server bounds it.
fn list_schema(item: Value) -> Value {
    json!({"type": "array", "maxItems": MAX_FILTER_VALUES, "items": item})
}

fn parameter_schema(name: &str, max_page_size: u32) -> Value {
    let text = json!({"type": "string", "minLength": 1, "maxLength": MAX_VALUE_BYTES});
    match name {
        "from" | "to" => json!({"type": "string", "format": "date-time"}),
        "interval" => json!({"type": "string", "enum": ["1m", "5m", "15m", "1h", "1d"]}),
        "group_by" => json!({"type": "string", "enum": ["watch", "source", "language", "label"]}),
        "format" => json!({"type": "string", "enum": ["json", "csv"]}),
        "limit" => json!({"type": "integer", "minimum": 1, "maximum": max_page_size}),
        "label" => list_schema(json!({"type": "string", "enum": LABELS})),
        "severity" => list_schema(json!({"type": "string", "enum": SEVERITIES})),
        "state" => list_schema(json!({"type": "string", "enum": STORY_STATES})),
        "status" => list_schema(
            json!({"type": "string", "enum": ["open", "acknowledged", "snoozed", "resolved"]}),
        ),
        "watch" | "source" | "language" => list_schema(text),
        _ => text,
    }
}

fn request_body(path: &str) -> Value {
    let note = json!({"type": "string", "maxLength": MAX_NOTE_BYTES, "description": "at most 2,000 bytes of UTF-8"});
    let minutes = json!({"type": "integer", "minimum": 1, "maximum": MAX_SNOOZE_MINUTES});
    let (schema, required) = if path.ends_with("/snooze") {
        (
            json!({"type": "object", "additionalProperties": false, "required": ["minutes"], "properties": {"note": note, "minutes": minutes}}),
            true,
        )
    } else {
        (
            json!({"type": "object", "additionalProperties": false, "properties": {"note": note}}),
            false,
        )
    };
    json!({"required": required, "content": {"application/json": {"schema": schema}}})
}

fn operation(route: &RouteDoc, max_page_size: u32) -> Value {
    let mut parameters: Vec<Value> = route
        .query
        .iter()
        .map(|name| {
            let mut parameter = json!({"name": name, "in": "query", "required": false, "schema": parameter_schema(name, max_page_size), "description": parameter_description(name)});
            if parameter["schema"]["type"] == "array" {
                parameter["style"] = json!("form");
                parameter["explode"] = json!(true);
            }
            parameter
        })
        .collect();
    for segment in ["story_id", "path"] {
        if route.path.contains(&format!("{{{segment}}}")) {
            parameters.push(json!({"name": segment, "in": "path", "required": true, "schema": {"type": "string", "minLength": 1}}));
        }
    }
    let mut content = Map::new();
    let body_type = if route.path.ends_with("/stream") {
        "text/event-stream"
    } else if route.role.is_none() && route.path != "/openapi.json" {
        "text/html"
    } else {
        "application/json"
    };
    content.insert(body_type.to_string(), json!({"schema": {"type": "object"}}));
    if route.csv {
        content.insert(
            "text/csv".to_string(),
            json!({"schema": {"type": "string"}}),
        );
    }
    let error = json!({"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}});
    let mut responses = Map::new();
    responses.insert(
        "200".into(),
        json!({"description": "success", "content": content}),
    );
    if route.role.is_some() {
        for (status, text) in [
            ("400", "bad parameter or bound exceeded"),
            ("401", "missing or unknown token"),
            ("403", "role too low"),
            ("503", "database or publishing unavailable"),
        ] {
            let mut answer = error.clone();
            answer["description"] = json!(text);
            responses.insert(status.into(), answer);
        }
    }
    if route.path.contains("{story_id}") || route.path.contains("{path}") {
        responses.insert("404".into(), error.clone());
    }
    if route.path.ends_with("/stream") {
        let mut answer = error.clone();
        answer["description"] = json!("too many open streams for this token or this server");
        responses.insert("429".into(), answer);
    }
    if route.method == "post" {
        let mut answer = error.clone();
        answer["description"] = json!("body larger than 64 KiB");
        responses.insert("413".into(), answer);
    }
    let mut operation = json!({
        "summary": route.summary,
        "parameters": parameters,
        "responses": responses,
    });
    match route.role {
        Some(role) => {
            operation["security"] = json!([{"bearer": []}]);
            operation["x-required-role"] = json!(role);
        }
        None => operation["security"] = json!([]),
    }
    if route.method == "post" && route.path.contains("{story_id}") {
        operation["requestBody"] = request_body(route.path);
    }
    operation
}

/// The whole document, with the default page size.
pub fn document() -> Value {
    document_for(crate::config::DEFAULT_MAX_PAGE_SIZE)
}

/// The whole document, for a server whose `api.max_page_size` is `max_page_size`.
pub fn document_for(max_page_size: u32) -> Value {
    let mut paths = Map::new();
    for route in ROUTES {
        let entry = paths
            .entry(route.path.to_string())
            .or_insert_with(|| json!({}));
        entry[route.method] = operation(route, max_page_size);
    }
    json!({
        "openapi": "3.0.3",
        "info": {"title": "tidewatch API", "version": "1", "description": "Trends, posts, stories and alerts. Times are RFC 3339 UTC. Errors are {\"error\": message}. Roles: viewer < responder < admin."},
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {"Error": {"type": "object", "additionalProperties": false, "required": ["error"], "properties": {"error": {"type": "string"}}}}
        }
    })
}
