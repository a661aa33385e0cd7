//! What every collector's output must satisfy: each post passes the model's own gate
//! unchanged, so nothing a parser accepts is refused (or altered) further down the pipeline.

use tidewatch_model::Post;

pub fn assert_post_is_canonical(post: &Post) {
    let json = post.to_json();
    let again = Post::from_json_bytes(json.as_bytes())
        .unwrap_or_else(|error| panic!("a parsed post fails the model's gate: {error}: {json}"));
    assert_eq!(
        &again, post,
        "a parsed post changes on its way through JSON"
    );
}

pub fn observed_at() -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp(1_764_500_000, 0).unwrap()
}
