//! Flow steps: their names and the options Dots documents for some of them.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

use crate::ValidationError;

/// The name of a flow step.
///
/// `Onboarding` is never requested: Dots adds it at the start of a flow created without a
/// `user_id`. A name this crate does not know yet is kept in `Unknown`, so a new step from Dots
/// never breaks parsing of a flow; a request naming one is rejected by validation.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum StepName {
    /// Phone sign-in and account creation (added by Dots, not requestable).
    Onboarding,
    /// Tax information: SSN/TIN, date of birth, address.
    Compliance,
    /// Government ID and selfie match.
    IdVerification,
    /// Criminal and sex-offender registry check for US users.
    BackgroundCheck,
    /// Connect a US bank account for payments to the app.
    ManagePayments,
    /// Connect payout methods and pick the default.
    ManagePayouts,
    /// Withdraw the wallet to a payout method.
    Payout,
    /// Send the user to a URL of the app's choosing.
    Redirect,
    /// Fill a PDF form from a template.
    PdfFormFill,
    /// A step name this version does not know.
    Unknown(String),
}

impl StepName {
    /// Every step an app may request, in Dots' documented order.
    pub const REQUESTABLE: [StepName; 8] = [
        StepName::Compliance,
        StepName::IdVerification,
        StepName::BackgroundCheck,
        StepName::ManagePayments,
        StepName::ManagePayouts,
        StepName::Payout,
        StepName::Redirect,
        StepName::PdfFormFill,
    ];

    /// The wire name, e.g. `id-verification`.
    pub fn as_str(&self) -> &str {
        match self {
            StepName::Onboarding => "onboarding",
            StepName::Compliance => "compliance",
            StepName::IdVerification => "id-verification",
            StepName::BackgroundCheck => "background-check",
            StepName::ManagePayments => "manage-payments",
            StepName::ManagePayouts => "manage-payouts",
            StepName::Payout => "payout",
            StepName::Redirect => "redirect",
            StepName::PdfFormFill => "pdf-form-fill",
            StepName::Unknown(name) => name,
        }
    }

    /// Parses a wire name; never fails (unknown names become [`StepName::Unknown`]).
    pub fn parse(name: &str) -> StepName {
        match name {
            "onboarding" => StepName::Onboarding,
            "compliance" => StepName::Compliance,
            "id-verification" => StepName::IdVerification,
            "background-check" => StepName::BackgroundCheck,
            "manage-payments" => StepName::ManagePayments,
            "manage-payouts" => StepName::ManagePayouts,
            "payout" => StepName::Payout,
            "redirect" => StepName::Redirect,
            "pdf-form-fill" => StepName::PdfFormFill,
            other => StepName::Unknown(other.to_owned()),
        }
    }

    /// Whether an app may put this step in a create-flow request.
    pub fn is_requestable(&self) -> bool {
        Self::REQUESTABLE.contains(self)
    }

    /// Whether this is the sign-in step Dots adds to a flow made without a user. Dots' pages
    /// name it four ways: `onboarding`, `onboard` (the payouts guide's step table),
    /// `authentication` (beside `onboarding`, on the Flow object's page) and `authorization`
    /// (an earlier version of that table). The others are kept as what they are
    /// ([`StepName::Unknown`] with their own name).
    pub fn is_sign_in(&self) -> bool {
        match self {
            StepName::Onboarding => true,
            StepName::Unknown(name) => {
                matches!(
                    name.as_str(),
                    "onboard" | "authentication" | "authorization"
                )
            }
            _ => false,
        }
    }

    /// Whether every step of `steps` that an app can ask for is in `completed` (and there is
    /// at least one). The sign-in step, under any name, and steps this crate does not know
    /// neither count towards completion nor block it: a message naming either can never
    /// finish a flow, and a flow never waits for one.
    pub fn all_done(steps: &[StepName], completed: &[StepName]) -> bool {
        let mut asked = steps.iter().filter(|s| s.is_requestable()).peekable();
        asked.peek().is_some() && asked.all(|s| completed.contains(s))
    }

    /// The options Dots documents for this step: the step table of Dots' payouts guide,
    /// plus `auto_payout_enabled`, which only the create-flow schema documents (for `payout`
    /// and `manage-payouts`). A step not listed takes no option.
    pub fn documented_options(&self) -> &'static [&'static str] {
        match self {
            StepName::Onboarding
            | StepName::Compliance
            | StepName::IdVerification
            | StepName::BackgroundCheck
            | StepName::ManagePayments => &["hide_continue_button"],
            StepName::ManagePayouts => &[
                "hide_continue_button",
                "require_default_payout_method",
                "require_auto_payout_method",
                "auto_payout_enabled",
            ],
            StepName::Payout => &["payout_fee_party", "auto_payout_enabled"],
            StepName::Redirect => &["redirect_url", "hide_continue_button"],
            StepName::PdfFormFill => &["template_id"],
            StepName::Unknown(_) => &[],
        }
    }
}

impl fmt::Display for StepName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for StepName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StepName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        Ok(StepName::parse(&name))
    }
}

crate::string_enum! {
    /// Who pays the fee of a `payout` step: Dots documents `platform` and `user`. A value
    /// this crate does not know is kept in `Unknown` when reading; validation refuses it in a
    /// request.
    PayoutFeeParty {
        /// The app (Dots calls it the platform) pays the fee.
        Platform = "platform",
        /// The user pays the fee out of the payout.
        User = "user",
    }
}

/// Options some steps take. Every field is optional; a step with none set is sent as a bare
/// string, as Dots' examples do.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StepOptions {
    /// `redirect`: where to send the user (an http(s) URL of the form Dots' schema gives).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect_url: Option<String>,
    /// `pdf-form-fill`: the PDF template to fill (required for that step).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// `compliance`, `id-verification`, `background-check`, `manage-payments`,
    /// `manage-payouts`, `redirect`: no continue button once the step is done, so the user
    /// stays on it (the app moves on, e.g. on the step's completion event).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hide_continue_button: Option<bool>,
    /// `manage-payouts`: the user must pick a default payout method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_default_payout_method: Option<bool>,
    /// `manage-payouts`: the user must set up automatic payouts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub require_auto_payout_method: Option<bool>,
    /// `payout` / `manage-payouts`: allow turning on automatic payouts (Dots' default: true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_payout_enabled: Option<bool>,
    /// `payout`: who pays the payout fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payout_fee_party: Option<PayoutFeeParty>,
}

impl StepOptions {
    fn is_empty(&self) -> bool {
        self == &StepOptions::default()
    }

    /// The names of the options that are set, in declaration order.
    pub fn set_fields(&self) -> Vec<&'static str> {
        let mut set = Vec::new();
        if self.redirect_url.is_some() {
            set.push("redirect_url");
        }
        if self.template_id.is_some() {
            set.push("template_id");
        }
        if self.hide_continue_button.is_some() {
            set.push("hide_continue_button");
        }
        if self.require_default_payout_method.is_some() {
            set.push("require_default_payout_method");
        }
        if self.require_auto_payout_method.is_some() {
            set.push("require_auto_payout_method");
        }
        if self.auto_payout_enabled.is_some() {
            set.push("auto_payout_enabled");
        }
        if self.payout_fee_party.is_some() {
            set.push("payout_fee_party");
        }
        set
    }
}

/// One step of a flow request: a name plus options.
///
/// On the wire it is either `"compliance"` or `{"name": "redirect", "redirect_url": "..."}`;
/// both forms are accepted, and it is written as a string when no option is set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// Which step.
    pub name: StepName,
    /// Its options, if any.
    pub options: StepOptions,
}

impl Step {
    /// A step with no options.
    pub fn new(name: StepName) -> Self {
        Self {
            name,
            options: StepOptions::default(),
        }
    }

    /// A `redirect` step to `url`.
    pub fn redirect(url: impl Into<String>) -> Self {
        let mut step = Self::new(StepName::Redirect);
        step.options.redirect_url = Some(url.into());
        step
    }

    /// A `pdf-form-fill` step for the template `template_id`.
    pub fn pdf_form_fill(template_id: impl Into<String>) -> Self {
        let mut step = Self::new(StepName::PdfFormFill);
        step.options.template_id = Some(template_id.into());
        step
    }

    /// A `compliance` step (SSN/TIN, date of birth, address).
    pub fn compliance() -> Self {
        Self::new(StepName::Compliance)
    }

    /// An `id-verification` step (government ID and selfie).
    pub fn id_verification() -> Self {
        Self::new(StepName::IdVerification)
    }

    /// A `background-check` step.
    pub fn background_check() -> Self {
        Self::new(StepName::BackgroundCheck)
    }

    /// A `manage-payments` step (bank account for payments to the app).
    pub fn manage_payments() -> Self {
        Self::new(StepName::ManagePayments)
    }

    /// A `manage-payouts` step; chain the option setters below to configure it.
    pub fn manage_payouts() -> Self {
        Self::new(StepName::ManagePayouts)
    }

    /// A `payout` step (withdraw the wallet).
    pub fn payout() -> Self {
        Self::new(StepName::Payout)
    }

    /// Hide the continue button once the step is done (every step but `payout` and
    /// `pdf-form-fill`).
    pub fn hide_continue_button(mut self, hide: bool) -> Self {
        self.options.hide_continue_button = Some(hide);
        self
    }

    /// `manage-payouts`: the user must choose a default payout method.
    pub fn require_default_payout_method(mut self, required: bool) -> Self {
        self.options.require_default_payout_method = Some(required);
        self
    }

    /// `manage-payouts`: the user must set up automatic payouts.
    pub fn require_auto_payout_method(mut self, required: bool) -> Self {
        self.options.require_auto_payout_method = Some(required);
        self
    }

    /// `payout` / `manage-payouts`: offer automatic payouts (Dots' default: true).
    pub fn auto_payout_enabled(mut self, enabled: bool) -> Self {
        self.options.auto_payout_enabled = Some(enabled);
        self
    }

    /// `payout`: who pays the payout fee.
    pub fn payout_fee_party(mut self, party: PayoutFeeParty) -> Self {
        self.options.payout_fee_party = Some(party);
        self
    }

    /// Checks the documented rules for this step at position `index` of a request.
    pub fn validate(&self, index: usize) -> Result<(), ValidationError> {
        let field = format!("steps[{index}]");
        if !self.name.is_requestable() {
            return Err(ValidationError::new(
                format!("{field}.name"),
                format!(
                    "unknown step `{}`; expected one of {}",
                    self.name,
                    StepName::REQUESTABLE
                        .map(|s| s.as_str().to_owned())
                        .join(", ")
                ),
            ));
        }
        let allowed = self.name.documented_options();
        if let Some(extra) = self
            .options
            .set_fields()
            .into_iter()
            .find(|f| !allowed.contains(f))
        {
            return Err(ValidationError::new(
                format!("{field}.{extra}"),
                format!(
                    "option `{extra}` does not apply to the `{}` step",
                    self.name
                ),
            ));
        }
        match self.name {
            StepName::Redirect => match self.options.redirect_url.as_deref() {
                None => Err(ValidationError::new(
                    format!("{field}.redirect_url"),
                    "the redirect step needs a redirect_url",
                )),
                Some(url) if !is_dots_redirect_url(url) => Err(ValidationError::new(
                    format!("{field}.redirect_url"),
                    "redirect_url must be an http(s) URL with a dotted host name, such as https://example.com/done",
                )),
                Some(_) => Ok(()),
            },
            StepName::PdfFormFill => match self.options.template_id.as_deref() {
                Some(id) if !id.trim().is_empty() => Ok(()),
                _ => Err(ValidationError::new(
                    format!("{field}.template_id"),
                    "the pdf-form-fill step needs a template_id",
                )),
            },
            StepName::Payout => match &self.options.payout_fee_party {
                Some(PayoutFeeParty::Unknown(value)) => Err(ValidationError::new(
                    format!("{field}.payout_fee_party"),
                    format!("`{value}` is not a payout_fee_party; expected `platform` or `user`"),
                )),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

impl From<StepName> for Step {
    fn from(name: StepName) -> Self {
        Step::new(name)
    }
}

/// Whether `url` is wholly of the form Dots' create-flow schema gives for `redirect_url`:
/// `https?://(www\.)?[-a-zA-Z0-9@:%._\+~#=]{1,256}\.[a-zA-Z0-9()]{1,6}\b[-a-zA-Z0-9()@:%_\+.~#?&//=]*`.
///
/// Written out by hand (a regex engine would add its size to every app's wasm); the drift
/// test compares it with the pattern read from Dots' spec. JSON Schema patterns are not
/// anchored, but a URL that only *contains* a match (`javascript:x//https://a.io`) is no URL
/// to send a user to, so the whole value must match.
pub fn is_dots_redirect_url(url: &str) -> bool {
    fn host_char(c: u8) -> bool {
        c.is_ascii_alphanumeric() || b"-@:%._+~#=".contains(&c)
    }
    fn tld_char(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'(' || c == b')'
    }
    fn tail_char(c: u8) -> bool {
        c.is_ascii_alphanumeric() || b"-()@:%_+.~#?&/=".contains(&c)
    }
    fn word(c: u8) -> bool {
        c.is_ascii_alphanumeric() || c == b'_'
    }
    let Some(rest) = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
    else {
        return false;
    };
    let bytes = rest.as_bytes();
    // Some `.` splits `rest` into host (1..=256 host chars), top-level part (1..=6 chars),
    // a word boundary, then only tail chars. (`www.` is host chars too.)
    let www = if rest.starts_with("www.") { 4 } else { 0 };
    (1..bytes.len()).any(|dot| {
        bytes[dot] == b'.'
            && (dot <= 256 || (www > 0 && dot - www <= 256))
            && bytes[..dot].iter().all(|&c| host_char(c))
            && (1..=6).any(|len| {
                let end = dot + 1 + len;
                end <= bytes.len()
                    && bytes[dot + 1..end].iter().all(|&c| tld_char(c))
                    && (word(bytes[end - 1]) != bytes.get(end).is_some_and(|&c| word(c)))
                    && bytes[end..].iter().all(|&c| tail_char(c))
            })
    })
}

#[derive(Serialize)]
struct StepObject {
    name: StepName,
    #[serde(flatten)]
    options: StepOptions,
}

/// A step object as read: every option spelled out, so an unknown key is an error that names
/// it (`deny_unknown_fields` does not work through `flatten`).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StepObjectIn {
    name: StepName,
    #[serde(default)]
    redirect_url: Option<String>,
    #[serde(default)]
    template_id: Option<String>,
    #[serde(default)]
    hide_continue_button: Option<bool>,
    #[serde(default)]
    require_default_payout_method: Option<bool>,
    #[serde(default)]
    require_auto_payout_method: Option<bool>,
    #[serde(default)]
    auto_payout_enabled: Option<bool>,
    #[serde(default)]
    payout_fee_party: Option<PayoutFeeParty>,
}

impl Serialize for Step {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        if self.options.is_empty() {
            self.name.serialize(serializer)
        } else {
            StepObject {
                name: self.name.clone(),
                options: self.options.clone(),
            }
            .serialize(serializer)
        }
    }
}

impl<'de> Deserialize<'de> for Step {
    /// A step name, or an object with `name` and options. Not an untagged enum: its one error
    /// ("did not match any variant") would hide which key is wrong.
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct StepVisitor;
        impl<'de> serde::de::Visitor<'de> for StepVisitor {
            type Value = Step;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a step name or a step object with `name`")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<Step, E> {
                Ok(Step::new(StepName::parse(name)))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<Step, A::Error> {
                let object =
                    StepObjectIn::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(Step {
                    name: object.name,
                    options: StepOptions {
                        redirect_url: object.redirect_url,
                        template_id: object.template_id,
                        hide_continue_button: object.hide_continue_button,
                        require_default_payout_method: object.require_default_payout_method,
                        require_auto_payout_method: object.require_auto_payout_method,
                        auto_payout_enabled: object.auto_payout_enabled,
                        payout_fee_party: object.payout_fee_party,
                    },
                })
            }
        }
        deserializer.deserialize_any(StepVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bare_and_object_forms_both_parse() {
        let steps: Vec<Step> = serde_json::from_value(json!([
            "compliance",
            {"name": "redirect", "redirect_url": "https://example.com"},
            {"name": "manage-payouts", "hide_continue_button": true}
        ]))
        .unwrap();
        assert_eq!(steps[0], Step::new(StepName::Compliance));
        assert_eq!(steps[1], Step::redirect("https://example.com"));
        assert_eq!(steps[2], Step::manage_payouts().hide_continue_button(true));
    }

    #[test]
    fn every_option_reads_back_as_written() {
        // The reader lists the options one by one (to refuse unknown keys): none may be missed.
        let step = Step {
            name: StepName::ManagePayouts,
            options: StepOptions {
                redirect_url: Some("https://example.com".into()),
                template_id: Some("tpl".into()),
                hide_continue_button: Some(true),
                require_default_payout_method: Some(true),
                require_auto_payout_method: Some(false),
                auto_payout_enabled: Some(true),
                payout_fee_party: Some(PayoutFeeParty::User),
            },
        };
        let written = serde_json::to_value(&step).unwrap();
        assert_eq!(written.as_object().unwrap().len(), 8, "{written}");
        assert_eq!(serde_json::from_value::<Step>(written).unwrap(), step);
    }

    #[test]
    fn steps_without_options_serialize_as_strings() {
        let value = serde_json::to_value([Step::new(StepName::IdVerification)]).unwrap();
        assert_eq!(value, json!(["id-verification"]));
        let value = serde_json::to_value([Step::pdf_form_fill("tpl_1")]).unwrap();
        assert_eq!(
            value,
            json!([{"name": "pdf-form-fill", "template_id": "tpl_1"}])
        );
    }

    #[test]
    fn unknown_names_survive_a_round_trip() {
        let name: StepName = serde_json::from_value(json!("teleport")).unwrap();
        assert_eq!(name, StepName::Unknown("teleport".into()));
        assert_eq!(serde_json::to_value(&name).unwrap(), json!("teleport"));
    }

    #[test]
    fn validation_names_the_field() {
        let err = Step::new(StepName::Unknown("teleport".into()))
            .validate(2)
            .unwrap_err();
        assert_eq!(err.field, "steps[2].name");
        let err = Step::redirect("javascript:alert(1)")
            .validate(0)
            .unwrap_err();
        assert_eq!(err.field, "steps[0].redirect_url");
        let err = Step::new(StepName::Redirect).validate(1).unwrap_err();
        assert_eq!(err.field, "steps[1].redirect_url");
        let err = Step::new(StepName::PdfFormFill).validate(3).unwrap_err();
        assert_eq!(err.field, "steps[3].template_id");
        let mut step = Step::new(StepName::Compliance);
        step.options.redirect_url = Some("https://example.com".into());
        assert_eq!(step.validate(0).unwrap_err().field, "steps[0].redirect_url");
        assert!(Step::new(StepName::Onboarding).validate(0).is_err());
    }

    #[test]
    fn builders_cover_every_option() {
        let steps = [
            Step::compliance(),
            Step::id_verification(),
            Step::background_check(),
            Step::manage_payments(),
            Step::manage_payouts()
                .hide_continue_button(true)
                .require_default_payout_method(true)
                .require_auto_payout_method(false)
                .auto_payout_enabled(true),
            Step::payout()
                .payout_fee_party(PayoutFeeParty::Platform)
                .auto_payout_enabled(false),
            Step::redirect("https://example.com"),
            Step::pdf_form_fill("tpl"),
        ];
        for (i, step) in steps.iter().enumerate() {
            assert!(step.validate(i).is_ok(), "{step:?}");
        }
        let json = serde_json::to_value(&steps[4]).unwrap();
        assert_eq!(
            json,
            json!({"name": "manage-payouts", "hide_continue_button": true, "require_default_payout_method": true,
                   "require_auto_payout_method": false, "auto_payout_enabled": true})
        );
    }

    #[test]
    fn redirect_urls_as_dots_writes_them() {
        assert!(is_dots_redirect_url("https://example.com/x?y=1"));
        assert!(is_dots_redirect_url("http://127.0.0.1:8080/done"));
        assert!(is_dots_redirect_url("https://www.example.co.uk"));
        assert!(!is_dots_redirect_url("http://localhost:8080"));
        assert!(!is_dots_redirect_url("https://"));
        assert!(!is_dots_redirect_url("ftp://example.com"));
        assert!(!is_dots_redirect_url("https://exa mple.com"));
        assert!(!is_dots_redirect_url("javascript:x//https://example.com"));
        assert!(!is_dots_redirect_url("https://example.com/<script>"));
    }
}
