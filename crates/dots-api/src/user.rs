//! Users: the object, its compliance block, and the requests that change it.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::transfer::{cents_or_zero, list_or_null};
use crate::{string_enum, Timestamp, UserId, ValidationError};

string_enum!(
    /// A user's account status.
    UserStatus {
        /// Phone number verified.
        Verified = "verified",
        /// Not verified yet.
        Unverified = "unverified",
        /// Disabled.
        Disabled = "disabled",
        /// Flagged for fraud risk, pending review.
        InReview = "in_review",
    }
);

string_enum!(
    /// Where the verification of a user's TIN stands.
    TaxIdVerification {
        /// No TIN submitted.
        Unsubmitted = "unsubmitted",
        /// Submitted, being verified.
        Pending = "pending",
        /// Verified and matching the user's name.
        Matched = "matched",
        /// Not matching the user's name; may be resubmitted.
        Mismatched = "mismatched",
    }
);

string_enum!(
    /// The user's OFAC screening status.
    OfacStatus {
        /// Not flagged.
        Unflagged = "unflagged",
        /// Must complete ID verification.
        IdVerificationRequired = "id_verification_required",
        /// ID verification done, waiting for manual review.
        InReview = "in_review",
        /// Suspected sanctioned individual.
        Flagged = "flagged",
    }
);

string_enum!(
    /// Background check status.
    BackgroundCheckStatus {
        /// Not started.
        NotStarted = "not_started",
        /// Started.
        Started = "started",
        /// Pending.
        Pending = "pending",
        /// Needs consideration.
        Consider = "consider",
        /// Passed.
        Pass = "pass",
        /// Failed.
        Failed = "failed",
        /// Canceled.
        Canceled = "canceled",
        /// Expired.
        Expired = "expired",
        /// The information given did not match.
        InformationMismatch = "information_mismatch",
    }
);

/// A phone number as Dots returns it (the number is `phone_number`, or `number` in the
/// users overview's example).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    /// Country calling code, e.g. `1`.
    #[serde(default)]
    pub country_code: String,
    /// The number without the country code.
    #[serde(alias = "number")]
    pub phone_number: String,
}

/// A Dots wallet; amounts in cents (read from numbers, whole floats or strings).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    /// Balance in cents.
    #[serde(default, deserialize_with = "cents_or_zero")]
    pub amount: i64,
    /// What can be withdrawn now, in cents (`withdrawable_balance` in the users overview).
    #[serde(
        default,
        alias = "withdrawable_balance",
        deserialize_with = "cents_or_zero"
    )]
    pub withdrawable_amount: i64,
    /// The app's credit in the wallet, in cents.
    #[serde(default, deserialize_with = "cents_or_zero")]
    pub credit_balance: i64,
}

/// A background check result.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BackgroundCheck {
    /// Its status.
    pub status: BackgroundCheckStatus,
    /// When it last changed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<Timestamp>,
}

/// Summary of a user's W-9.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct W9Summary {
    /// `individual` or `business`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    /// The business name, for businesses.
    #[serde(default)]
    pub business_name: Option<String>,
    /// A TIN was collected.
    #[serde(default)]
    pub tax_id_collected: bool,
    /// An address was collected.
    #[serde(default)]
    pub address_collected: bool,
}

/// Compliance flags.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplianceFlags {
    /// Flagged for potential OFAC issues.
    #[serde(default)]
    pub ofac: bool,
    /// OFAC screening status, when Dots tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ofac_status: Option<OfacStatus>,
    /// Shares a payout method with another user.
    #[serde(default)]
    pub payout_method: bool,
    /// Connected/disconnected payout methods repeatedly.
    #[serde(default)]
    pub payout_method_cycle: bool,
    /// Name mismatch with IDV or a payout method.
    #[serde(default)]
    pub name_mismatch: bool,
}

impl Default for ComplianceFlags {
    fn default() -> Self {
        Self {
            ofac: false,
            ofac_status: Some(OfacStatus::Unflagged),
            payout_method: false,
            payout_method_cycle: false,
            name_mismatch: false,
        }
    }
}

/// A user's compliance state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Compliance {
    /// Deprecated by Dots in favour of `w9.tax_id_collected`.
    #[serde(default)]
    pub tax_id_collected: bool,
    /// TIN verification status, when Dots tells (the users overview's example leaves it out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tax_id_verification: Option<TaxIdVerification>,
    /// Deprecated by Dots in favour of `w9.address_collected`.
    #[serde(default)]
    pub address_collected: bool,
    /// Date of birth collected.
    #[serde(default)]
    pub date_of_birth_collected: bool,
    /// 1099 information must be collected before payouts resume.
    #[serde(default)]
    pub must_collect_1099: bool,
    /// 1099 information collected.
    #[serde(default, rename = "1099_collected")]
    pub collected_1099: bool,
    /// W8-BEN collected.
    #[serde(default)]
    pub w8_ben_collected: bool,
    /// Flagged for review (see `flags`).
    #[serde(default)]
    pub flagged: bool,
    /// Government ID verified.
    #[serde(default)]
    pub id_verified: bool,
    /// A background check found criminal activity.
    #[serde(default)]
    pub has_criminal_activity: bool,
    /// Background check result, when one exists.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub background_check: Option<BackgroundCheck>,
    /// W-9 summary; `null` for users outside the US.
    #[serde(default)]
    pub w9: Option<W9Summary>,
    /// Compliance flags.
    #[serde(default, deserialize_with = "flags_or_null")]
    pub flags: ComplianceFlags,
}

impl Default for Compliance {
    fn default() -> Self {
        Self {
            tax_id_collected: false,
            tax_id_verification: Some(TaxIdVerification::Unsubmitted),
            address_collected: false,
            date_of_birth_collected: false,
            must_collect_1099: false,
            collected_1099: false,
            w8_ben_collected: false,
            flagged: false,
            id_verified: false,
            has_criminal_activity: false,
            background_check: None,
            w9: None,
            flags: ComplianceFlags::default(),
        }
    }
}

/// A payout method connected to a user (`payment-method` in Dots' spec).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PayoutMethod {
    /// Its id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `ach`, `paypal`, `venmo`, `cash_app`, ...
    pub platform: String,
    /// A human description, e.g. "Checking ••6789".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Last digits of an account number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mask: Option<String>,
    /// PayPal email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Venmo phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Cash App tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_tag: Option<String>,
}

impl PayoutMethod {
    /// A payout method on `platform`.
    pub fn new(platform: impl Into<String>) -> Self {
        Self {
            id: None,
            platform: platform.into(),
            description: None,
            mask: None,
            email: None,
            phone_number: None,
            cash_tag: None,
        }
    }
}

/// A Dots user.
///
/// A user Dots has just created comes back without `wallet` and `compliance` (the answer of
/// `POST /v2/users` in Dots' guide): they are `None` until Dots tells them, not errors.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// First name.
    #[serde(default, deserialize_with = "crate::transfer::text_or_null")]
    pub first_name: String,
    /// Last name.
    #[serde(default, deserialize_with = "crate::transfer::text_or_null")]
    pub last_name: String,
    /// Email.
    #[serde(default, deserialize_with = "crate::transfer::text_or_null")]
    pub email: String,
    /// Phone number.
    #[serde(default)]
    pub phone_number: Option<PhoneNumber>,
    /// Account status, when Dots tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<UserStatus>,
    /// Whether the phone number is verified, when Dots tells (a created user's answer does).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified: Option<bool>,
    /// The user's country (ISO 3166 alpha-2), when Dots tells.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// Wallet balances, in cents; `None` until Dots tells them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wallet: Option<Wallet>,
    /// The default payout rail, if one is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_payout_method: Option<String>,
    /// Compliance state; `None` until Dots tells it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compliance: Option<Compliance>,
    /// App metadata.
    #[serde(default)]
    pub metadata: Option<Value>,
    /// Payout rails hidden from this user.
    #[serde(default, deserialize_with = "list_or_null")]
    pub payout_options_exclude_list: Vec<String>,
}

impl User {
    /// The compliance state, made (empty) if Dots has not told it yet: for whoever keeps a
    /// user up to date (the local sandbox).
    pub fn compliance_mut(&mut self) -> &mut Compliance {
        self.compliance.get_or_insert_with(Compliance::default)
    }

    /// The wallet, made (empty) if Dots has not told it yet.
    pub fn wallet_mut(&mut self) -> &mut Wallet {
        self.wallet.get_or_insert_with(Wallet::default)
    }

    /// A new, unverified user with an empty wallet and nothing collected.
    pub fn new(
        id: UserId,
        first_name: impl Into<String>,
        last_name: impl Into<String>,
        email: impl Into<String>,
        phone_number: PhoneNumber,
    ) -> Self {
        Self {
            id,
            first_name: first_name.into(),
            last_name: last_name.into(),
            email: email.into(),
            phone_number: Some(phone_number),
            status: Some(UserStatus::Unverified),
            verified: Some(false),
            country: None,
            wallet: Some(Wallet::default()),
            default_payout_method: None,
            compliance: Some(Compliance::default()),
            metadata: None,
            payout_options_exclude_list: Vec::new(),
        }
    }
}

/// `POST /v2/users`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateUserRequest {
    /// 1 to 50 characters.
    pub first_name: String,
    /// 1 to 50 characters.
    pub last_name: String,
    /// An email address.
    pub email: String,
    /// 1 to 3 digits.
    pub country_code: String,
    /// 1 to 20 digits.
    pub phone_number: String,
    /// Optional username.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// Optional date of birth (YYYY-MM-DD).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_of_birth: Option<String>,
    /// String or object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl CreateUserRequest {
    /// A request with the required fields.
    pub fn new(
        first_name: impl Into<String>,
        last_name: impl Into<String>,
        email: impl Into<String>,
        country_code: impl Into<String>,
        phone_number: impl Into<String>,
    ) -> Self {
        Self {
            first_name: first_name.into(),
            last_name: last_name.into(),
            email: email.into(),
            country_code: country_code.into(),
            phone_number: phone_number.into(),
            username: None,
            date_of_birth: None,
            metadata: None,
        }
    }

    /// Checks the spec's constraints; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        for (field, value) in [
            ("first_name", &self.first_name),
            ("last_name", &self.last_name),
        ] {
            let len = value.chars().count();
            if !(1..=50).contains(&len) || value.trim().is_empty() {
                return Err(ValidationError::new(field, "must be 1 to 50 characters"));
            }
        }
        if !is_email(&self.email) {
            return Err(ValidationError::new("email", "must be an email address"));
        }
        if !is_digits(&self.country_code, 1, 3) {
            return Err(ValidationError::new(
                "country_code",
                "must be 1 to 3 digits",
            ));
        }
        if !is_digits(&self.phone_number, 1, 20) {
            return Err(ValidationError::new(
                "phone_number",
                "must be 1 to 20 digits",
            ));
        }
        if let Some(dob) = &self.date_of_birth {
            if !is_date(dob) {
                return Err(ValidationError::new(
                    "date_of_birth",
                    "must be a date (YYYY-MM-DD)",
                ));
            }
        }
        Ok(())
    }
}

/// A postal address in a W-9.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    /// Line 1.
    #[serde(default)]
    pub line_1: String,
    /// Line 2.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_2: Option<String>,
    /// City.
    #[serde(default)]
    pub city: String,
    /// State.
    #[serde(default)]
    pub state: String,
    /// Country.
    #[serde(default)]
    pub country: String,
    /// Postal code.
    #[serde(default)]
    pub postcode: String,
}

/// The W-9 part of `PUT /v2/users/{id}/compliance`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct W9Form {
    /// `individual` or `business`.
    pub entity_type: String,
    /// Required for businesses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_name: Option<String>,
    /// First name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    /// Last name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_name: Option<String>,
    /// YYYY-MM-DD.
    pub date_of_birth: String,
    /// SSN (individuals) or EIN (businesses): nine digits.
    pub tin: String,
    /// The address.
    pub address: Address,
}

/// `PUT /v2/users/{id}/compliance`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ComplianceRequest {
    /// For US persons.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w9: Option<W9Form>,
    /// For foreign payees (accepted, stored as given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub w8ben: Option<Value>,
}

impl ComplianceRequest {
    /// Checks the W-9 rules; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let Some(w9) = &self.w9 else {
            return match &self.w8ben {
                Some(Value::Object(_)) => Ok(()),
                Some(_) => Err(ValidationError::new("w8ben", "must be an object")),
                None => Err(ValidationError::new("w9", "either w9 or w8ben is required")),
            };
        };
        match w9.entity_type.as_str() {
            "individual" => {}
            "business" => {
                if w9
                    .business_name
                    .as_deref()
                    .is_none_or(|n| n.trim().is_empty())
                {
                    return Err(ValidationError::new(
                        "w9.business_name",
                        "is required for a business",
                    ));
                }
            }
            _ => {
                return Err(ValidationError::new(
                    "w9.entity_type",
                    "must be `individual` or `business`",
                ))
            }
        }
        if !is_date(&w9.date_of_birth) {
            return Err(ValidationError::new(
                "w9.date_of_birth",
                "must be a date (YYYY-MM-DD)",
            ));
        }
        if !is_digits(&w9.tin, 9, 9) {
            return Err(ValidationError::new("w9.tin", "must be exactly 9 digits"));
        }
        for (field, value) in [
            ("w9.address.line_1", &w9.address.line_1),
            ("w9.address.city", &w9.address.city),
            ("w9.address.state", &w9.address.state),
            ("w9.address.country", &w9.address.country),
            ("w9.address.postcode", &w9.address.postcode),
        ] {
            if value.trim().is_empty() {
                return Err(ValidationError::new(field, "is required"));
            }
        }
        Ok(())
    }
}

/// `PUT /v2/users/{id}/payout-methods`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AddPayoutMethodRequest {
    /// `paypal`, `venmo`, `cash_app` or `ach`.
    pub platform: String,
    /// ACH / Cash App routing number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_number: Option<String>,
    /// ACH / Cash App account number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_number: Option<String>,
    /// `checking` or `savings` (ACH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_type: Option<String>,
    /// PayPal email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// Venmo phone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// Venmo handle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub handle: Option<String>,
    /// Cash App tag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cash_tag: Option<String>,
    /// Make it the default payout method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_default: Option<bool>,
    /// Turn automatic payouts on or off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_payout_enabled: Option<bool>,
    /// Stored with the method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

impl AddPayoutMethodRequest {
    /// A request for `platform`.
    pub fn new(platform: impl Into<String>) -> Self {
        Self {
            platform: platform.into(),
            ..Self::default()
        }
    }

    /// Checks the per-platform required fields; the error names the field.
    pub fn validate(&self) -> Result<(), ValidationError> {
        let need = |field: &'static str, value: &Option<String>| -> Result<(), ValidationError> {
            match value {
                Some(v) if !v.trim().is_empty() => Ok(()),
                _ => Err(ValidationError::new(
                    field,
                    format!("is required for platform `{}`", self.platform),
                )),
            }
        };
        match self.platform.as_str() {
            "ach" => {
                need("routing_number", &self.routing_number)?;
                need("account_number", &self.account_number)?;
                match self.account_type.as_deref() {
                    Some("checking" | "savings") => Ok(()),
                    _ => Err(ValidationError::new(
                        "account_type",
                        "must be `checking` or `savings` for platform `ach`",
                    )),
                }
            }
            "paypal" => {
                need("email", &self.email)?;
                if is_email(self.email.as_deref().unwrap_or("")) {
                    Ok(())
                } else {
                    Err(ValidationError::new("email", "must be an email address"))
                }
            }
            "venmo" => {
                if self.phone_number.is_some() || self.handle.is_some() {
                    Ok(())
                } else {
                    Err(ValidationError::new(
                        "phone_number",
                        "one of phone_number or handle is required for platform `venmo`",
                    ))
                }
            }
            "cash_app" => {
                need("routing_number", &self.routing_number)?;
                need("account_number", &self.account_number)?;
                need("cash_tag", &self.cash_tag)
            }
            _ => Err(ValidationError::new(
                "platform",
                "must be one of paypal, venmo, cash_app, ach",
            )),
        }
    }
}

/// Flags that Dots may send as `null`.
fn flags_or_null<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<ComplianceFlags, D::Error> {
    Ok(Option::<ComplianceFlags>::deserialize(deserializer)?.unwrap_or_default())
}

/// `digits` long between `min` and `max`, ASCII digits only.
pub(crate) fn is_digits(value: &str, min: usize, max: usize) -> bool {
    (min..=max).contains(&value.len()) && value.bytes().all(|b| b.is_ascii_digit())
}

/// A plausible email: something@something.something, no spaces.
pub(crate) fn is_email(value: &str) -> bool {
    match value.split_once('@') {
        Some((local, domain)) => {
            !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !value.chars().any(char::is_whitespace)
                && !domain.contains('@')
        }
        None => false,
    }
}

/// `YYYY-MM-DD` with a plausible month and day.
pub(crate) fn is_date(value: &str) -> bool {
    let parts: Vec<&str> = value.split('-').collect();
    if parts.len() != 3 || parts[0].len() != 4 || parts[1].len() != 2 || parts[2].len() != 2 {
        return false;
    }
    let nums: Option<Vec<u32>> = parts.iter().map(|p| p.parse().ok()).collect();
    matches!(nums.as_deref(), Some([y, m, d]) if *y >= 1900 && (1..=12).contains(m) && (1..=31).contains(d))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn user_create_validation_names_fields() {
        let ok = CreateUserRequest::new("Bob", "Loblaw", "bob@example.com", "1", "4154332334");
        assert!(ok.validate().is_ok());
        let mut bad = ok.clone();
        bad.email = "bob".into();
        assert_eq!(bad.validate().unwrap_err().field, "email");
        let mut bad = ok.clone();
        bad.phone_number = "415-433".into();
        assert_eq!(bad.validate().unwrap_err().field, "phone_number");
        let mut bad = ok;
        bad.first_name = "x".repeat(51);
        assert_eq!(bad.validate().unwrap_err().field, "first_name");
    }

    #[test]
    fn compliance_validation() {
        let request: ComplianceRequest = serde_json::from_value(json!({
            "w9": {"entity_type": "individual", "date_of_birth": "1990-04-01", "tin": "123456789",
                   "address": {"line_1": "1 Main St", "city": "SF", "state": "CA", "country": "US", "postcode": "94107"}}
        }))
        .unwrap();
        assert!(request.validate().is_ok());
        let mut bad = request.clone();
        bad.w9.as_mut().unwrap().tin = "12345".into();
        assert_eq!(bad.validate().unwrap_err().field, "w9.tin");
        let mut bad = request;
        bad.w9.as_mut().unwrap().address.city = String::new();
        assert_eq!(bad.validate().unwrap_err().field, "w9.address.city");
    }

    #[test]
    fn payout_method_validation() {
        let mut ach = AddPayoutMethodRequest::new("ach");
        ach.routing_number = Some("123456789".into());
        ach.account_number = Some("000123".into());
        assert_eq!(ach.validate().unwrap_err().field, "account_type");
        ach.account_type = Some("checking".into());
        assert!(ach.validate().is_ok());
        assert_eq!(
            AddPayoutMethodRequest::new("paypal")
                .validate()
                .unwrap_err()
                .field,
            "email"
        );
        assert_eq!(
            AddPayoutMethodRequest::new("bitcoin")
                .validate()
                .unwrap_err()
                .field,
            "platform"
        );
    }

    #[test]
    fn unknown_statuses_survive() {
        let status: UserStatus = serde_json::from_value(json!("frozen")).unwrap();
        assert_eq!(status, UserStatus::Unknown("frozen".into()));
        assert_eq!(serde_json::to_value(&status).unwrap(), json!("frozen"));
    }
}
