//! The flow's options: one home for what `<DotsFlow/>`'s props, `use_dots_flow`'s options,
//! the engine and the `<dots-flow>` element all take, with the defaults written once.

use std::time::Duration;

use crate::link::FlowSource;
use crate::markup::{DEFAULT_MAX_HEIGHT, DEFAULT_MIN_HEIGHT};

/// How a flow is asked for and followed. Read once, when the component mounts (or the hook or
/// engine starts); every field has a default.
///
/// ```
/// use dots_flow::{FlowOptions, FlowSource};
/// use std::time::Duration;
///
/// let options = FlowOptions {
///     source: FlowSource::from("https://api.example.com/api/flows"),
///     min_height: 320.0,
///     load_timeout: Duration::from_secs(30),
///     ..FlowOptions::default()
/// };
/// assert_eq!(options.max_height, dots_flow::DEFAULT_MAX_HEIGHT);
/// ```
#[derive(Clone, Debug)]
pub struct FlowOptions {
    /// Where to get (and confirm) the flow. Default: `POST /api/flows`
    /// ([`FlowSource::DEFAULT_ENDPOINT`], the dots-flow proxy's).
    pub source: FlowSource,
    /// Metadata to attach to the flow (`null` is none).
    pub metadata: Option<serde_json::Value>,
    /// Ask for the user's own sign-in (Dots' `require_auth`); adds to the server's policy.
    pub require_auth: bool,
    /// Hide the "Go to dashboard" button at the end (Dots' `hide_go_to_dashboard_on_complete`).
    pub hide_go_to_dashboard_on_complete: bool,
    /// Lowest frame height (CSS px). Default 240.
    pub min_height: f64,
    /// Highest frame height (CSS px). Default 4000.
    pub max_height: f64,
    /// How long the frame may take to report its height before it is an error. Default 20 s.
    pub load_timeout: Duration,
    /// How often to ask the server for progress while the flow is open and its event stream
    /// is not (`None`: only after each step message). Default 10 s.
    pub confirm_interval: Option<Duration>,
    /// The server's event stream, to hear each step confirmed as it happens (a URL, relative
    /// to the page). By default the stream a flow answer names (the proxy names its own,
    /// `BrowserFlow::events`, resolved against the endpoint's URL); without one, progress is
    /// confirmed by asking every `confirm_interval`.
    pub events_url: Option<String>,
    /// How long before a pre-authenticated link expires it is due for a fresh one. The frame
    /// is never swapped under a step in progress: a due link is replaced at once only while
    /// the frame is not showing yet, otherwise at the next step boundary (a `{step, status}`
    /// message) or when the frame reloads. Default 60 s.
    pub refresh_margin: Duration,
}

impl Default for FlowOptions {
    fn default() -> Self {
        Self {
            source: FlowSource::default(),
            metadata: None,
            require_auth: false,
            hide_go_to_dashboard_on_complete: false,
            min_height: DEFAULT_MIN_HEIGHT,
            max_height: DEFAULT_MAX_HEIGHT,
            load_timeout: Duration::from_secs(20),
            confirm_interval: Some(Duration::from_secs(10)),
            events_url: None,
            refresh_margin: Duration::from_secs(60),
        }
    }
}
