//! Column and table names → what they say the data is.
//!
//! A name is normalised first: camelCase and acronyms are split (`homePhone`, `IPAddress`),
//! every run of characters that are not letters splits too (`e-mail`, `address_2`), letters
//! are lowercased and accents folded (`Straße` → `strasse`, `téléphone` → `telephone`). The
//! dictionary entries are normalised the same way and matched against the tokens, also inside
//! compounds (`firstname`, `custFirstName`, `geburtsdatum`):
//!
//! - an entry matches where its letters occur in the tokens joined together, starting and
//!   ending at token boundaries (`first_name`, `FirstName`);
//! - an entry of 4 letters or more also matches at the start or the end of a longer token
//!   (`firstname` in `custfirstname`, `telefon` in `telefonnummer`), never in the middle
//!   (`company` is not in `accompanying`);
//! - of two matches where one lies inside the other, the longer wins (`ip address` over
//!   `address`, `firstname` over `name`); of matches side by side, the concept listed first
//!   in [`Concept`] wins (`email_address` is an email, `phone_number` a phone).
//!
//! The dictionary covers English, German, French, Spanish, Dutch, and the Italian and
//! Portuguese words that differ from those.

use crate::detect::names::fold;

/// What a name says a column holds. The order is the priority among side-by-side matches:
/// the most sensitive first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Concept {
    Secret,
    NationalId,
    Card,
    Iban,
    Email,
    Ip,
    Mac,
    Phone,
    BirthDate,
    Username,
    FirstName,
    LastName,
    FullName,
    Salutation,
    Address,
    Postcode,
    City,
    Geo,
    Photo,
    Url,
    Salary,
    Age,
    Gender,
    Company,
    JobTitle,
    FreeText,
    Country,
    Region,
    /// Product and reference data: products, categories, items, SKUs, units.
    Product,
    /// Amounts, prices, quantities, counts.
    Measure,
    /// Status, type, kind, flag: enumerations.
    Status,
    /// A generic `name`: a person's in a table about people, a thing's otherwise.
    Name,
    /// A generic `title`: a job title in a table about people, a label otherwise.
    Title,
    /// An identifier or key.
    Id,
}

impl Concept {
    /// Words for messages: "the column name says `<this>`".
    pub fn describe(self) -> &'static str {
        match self {
            Concept::Secret => "a password, hash, token or secret",
            Concept::NationalId => "a national identity, social security, passport or tax number",
            Concept::Card => "a payment card number",
            Concept::Iban => "a bank account (IBAN)",
            Concept::Email => "an email address",
            Concept::Ip => "an IP address",
            Concept::Mac => "a device (MAC) address",
            Concept::Phone => "a phone or fax number",
            Concept::BirthDate => "a birth date",
            Concept::Username => "a user name or login",
            Concept::FirstName => "a first name",
            Concept::LastName => "a last name",
            Concept::FullName => "a person's name",
            Concept::Salutation => "a salutation (Mr, Ms, Dr)",
            Concept::Address => "a street address",
            Concept::Postcode => "a postcode",
            Concept::City => "a city",
            Concept::Geo => "a geographic position",
            Concept::Photo => "a photo or picture",
            Concept::Url => "a web address",
            Concept::Salary => "a salary or income",
            Concept::Age => "an age",
            Concept::Gender => "a gender",
            Concept::Company => "a company name",
            Concept::JobTitle => "a job title",
            Concept::FreeText => "free text (notes, comments, descriptions)",
            Concept::Country => "a country",
            Concept::Region => "a region, state or province",
            Concept::Product => "product or reference data",
            Concept::Measure => "an amount, price or quantity",
            Concept::Status => "a status or type",
            Concept::Name => "a name",
            Concept::Title => "a title",
            Concept::Id => "an identifier",
        }
    }
}

/// Dictionary entries: words (several languages) and the concept they name. Multi-word
/// entries are written with spaces and match with or without separators.
const ENTRIES: &[(&str, Concept)] = &[
    // Secrets and credentials.
    ("password", Concept::Secret),
    ("passwd", Concept::Secret),
    ("pwd", Concept::Secret),
    ("pass hash", Concept::Secret),
    ("hash", Concept::Secret),
    ("salt", Concept::Secret),
    ("token", Concept::Secret),
    ("secret", Concept::Secret),
    ("api key", Concept::Secret),
    ("private key", Concept::Secret),
    ("otp", Concept::Secret),
    ("pin", Concept::Secret),
    ("passwort", Concept::Secret),
    ("kennwort", Concept::Secret),
    ("mot de passe", Concept::Secret),
    ("mdp", Concept::Secret),
    ("contrasena", Concept::Secret),
    ("wachtwoord", Concept::Secret),
    ("senha", Concept::Secret),
    // National identifiers.
    ("ssn", Concept::NationalId),
    ("social security", Concept::NationalId),
    ("national id", Concept::NationalId),
    ("national insurance", Concept::NationalId),
    ("nino", Concept::NationalId),
    ("passport", Concept::NationalId),
    ("tax id", Concept::NationalId),
    ("tax number", Concept::NationalId),
    ("tin", Concept::NationalId),
    ("vat number", Concept::NationalId),
    ("driver license", Concept::NationalId),
    ("drivers license", Concept::NationalId),
    ("driving licence", Concept::NationalId),
    ("id card", Concept::NationalId),
    ("identity card", Concept::NationalId),
    ("personalausweis", Concept::NationalId),
    ("ausweis", Concept::NationalId),
    ("reisepass", Concept::NationalId),
    ("steuernummer", Concept::NationalId),
    ("steuer id", Concept::NationalId),
    ("sozialversicherungsnummer", Concept::NationalId),
    ("numero de securite sociale", Concept::NationalId),
    ("nir", Concept::NationalId),
    ("insee", Concept::NationalId),
    ("passeport", Concept::NationalId),
    ("dni", Concept::NationalId),
    ("nif", Concept::NationalId),
    ("nie", Concept::NationalId),
    ("pasaporte", Concept::NationalId),
    ("bsn", Concept::NationalId),
    ("burgerservicenummer", Concept::NationalId),
    ("paspoort", Concept::NationalId),
    ("codice fiscale", Concept::NationalId),
    ("cpf", Concept::NationalId),
    // Payment.
    ("card", Concept::Card),
    ("card number", Concept::Card),
    ("card no", Concept::Card),
    ("cardnum", Concept::Card),
    ("credit card", Concept::Card),
    ("debit card", Concept::Card),
    ("pan", Concept::Card),
    ("cc number", Concept::Card),
    ("cvv", Concept::Card),
    ("cvc", Concept::Card),
    ("card last4", Concept::Card),
    ("kreditkarte", Concept::Card),
    ("kartennummer", Concept::Card),
    ("carte bancaire", Concept::Card),
    ("numero de carte", Concept::Card),
    ("tarjeta", Concept::Card),
    ("creditcard", Concept::Card),
    ("iban", Concept::Iban),
    ("bic", Concept::Iban),
    ("swift", Concept::Iban),
    ("bank account", Concept::Iban),
    ("account number", Concept::Iban),
    ("routing number", Concept::Iban),
    ("sort code", Concept::Iban),
    ("kontonummer", Concept::Iban),
    ("bankverbindung", Concept::Iban),
    ("compte bancaire", Concept::Iban),
    ("rib", Concept::Iban),
    ("cuenta bancaria", Concept::Iban),
    ("rekeningnummer", Concept::Iban),
    // Contact.
    ("email", Concept::Email),
    ("e mail", Concept::Email),
    ("mail", Concept::Email),
    ("courriel", Concept::Email),
    ("correo", Concept::Email),
    ("correo electronico", Concept::Email),
    ("ip", Concept::Ip),
    ("ip address", Concept::Ip),
    ("ipv4", Concept::Ip),
    ("ipv6", Concept::Ip),
    ("ip addr", Concept::Ip),
    ("remote addr", Concept::Ip),
    ("client ip", Concept::Ip),
    ("adresse ip", Concept::Ip),
    ("mac address", Concept::Mac),
    ("mac addr", Concept::Mac),
    ("device id", Concept::Mac),
    ("imei", Concept::Mac),
    ("phone", Concept::Phone),
    ("telephone", Concept::Phone),
    ("tel", Concept::Phone),
    ("tel no", Concept::Phone),
    ("telno", Concept::Phone),
    ("telnr", Concept::Phone),
    ("mobile", Concept::Phone),
    ("mobil", Concept::Phone),
    ("cell", Concept::Phone),
    ("cellphone", Concept::Phone),
    ("fax", Concept::Phone),
    ("faxnr", Concept::Phone),
    ("extension", Concept::Phone),
    ("msisdn", Concept::Phone),
    ("telefon", Concept::Phone),
    ("handy", Concept::Phone),
    ("rufnummer", Concept::Phone),
    ("durchwahl", Concept::Phone),
    ("portable", Concept::Phone),
    ("telefono", Concept::Phone),
    ("movil", Concept::Phone),
    ("celular", Concept::Phone),
    ("telefoon", Concept::Phone),
    ("mobiel", Concept::Phone),
    ("gsm", Concept::Phone),
    ("cellulare", Concept::Phone),
    ("whatsapp", Concept::Phone),
    // Birth.
    ("birth", Concept::BirthDate),
    ("birthplace", Concept::City),
    ("place of birth", Concept::City),
    ("geburtsort", Concept::City),
    ("lieu de naissance", Concept::City),
    ("lugar de nacimiento", Concept::City),
    ("birthday", Concept::BirthDate),
    ("birthdate", Concept::BirthDate),
    ("born", Concept::BirthDate),
    ("dob", Concept::BirthDate),
    ("geburtsdatum", Concept::BirthDate),
    ("geburtstag", Concept::BirthDate),
    ("geboren", Concept::BirthDate),
    ("naissance", Concept::BirthDate),
    ("date de naissance", Concept::BirthDate),
    ("nacimiento", Concept::BirthDate),
    ("fecha de nacimiento", Concept::BirthDate),
    ("geboortedatum", Concept::BirthDate),
    ("nascita", Concept::BirthDate),
    ("nascimento", Concept::BirthDate),
    // Accounts.
    ("username", Concept::Username),
    ("user name", Concept::Username),
    ("login", Concept::Username),
    ("user login", Concept::Username),
    ("screen name", Concept::Username),
    ("nickname", Concept::Username),
    ("handle", Concept::Username),
    ("benutzername", Concept::Username),
    ("nom d utilisateur", Concept::Username),
    ("identifiant", Concept::Username),
    ("usuario", Concept::Username),
    ("gebruikersnaam", Concept::Username),
    // Person names.
    ("first name", Concept::FirstName),
    ("firstname", Concept::FirstName),
    ("fname", Concept::FirstName),
    ("given name", Concept::FirstName),
    ("forename", Concept::FirstName),
    ("christian name", Concept::FirstName),
    ("middle name", Concept::FirstName),
    ("vorname", Concept::FirstName),
    ("prenom", Concept::FirstName),
    ("nombre de pila", Concept::FirstName),
    ("voornaam", Concept::FirstName),
    ("nome proprio", Concept::FirstName),
    ("primeiro nome", Concept::FirstName),
    ("last name", Concept::LastName),
    ("lastname", Concept::LastName),
    ("lname", Concept::LastName),
    ("surname", Concept::LastName),
    ("family name", Concept::LastName),
    ("maiden name", Concept::LastName),
    ("nachname", Concept::LastName),
    ("familienname", Concept::LastName),
    ("zuname", Concept::LastName),
    ("nom de famille", Concept::LastName),
    ("apellido", Concept::LastName),
    ("apellidos", Concept::LastName),
    ("achternaam", Concept::LastName),
    ("cognome", Concept::LastName),
    ("sobrenome", Concept::LastName),
    ("full name", Concept::FullName),
    ("fullname", Concept::FullName),
    ("display name", Concept::FullName),
    ("contact name", Concept::FullName),
    ("contact person", Concept::FullName),
    ("person name", Concept::FullName),
    ("customer name", Concept::FullName),
    ("client name", Concept::FullName),
    ("employee name", Concept::FullName),
    ("member name", Concept::FullName),
    ("patient name", Concept::FullName),
    ("user full name", Concept::FullName),
    ("cardholder", Concept::FullName),
    ("holder name", Concept::FullName),
    ("account holder", Concept::FullName),
    ("recipient name", Concept::FullName),
    ("ansprechpartner", Concept::FullName),
    ("kontaktperson", Concept::FullName),
    ("nom complet", Concept::FullName),
    ("nombre completo", Concept::FullName),
    ("volledige naam", Concept::FullName),
    ("contactpersoon", Concept::FullName),
    ("salutation", Concept::Salutation),
    ("courtesy", Concept::Salutation),
    ("honorific", Concept::Salutation),
    ("title of courtesy", Concept::Salutation),
    ("anrede", Concept::Salutation),
    ("civilite", Concept::Salutation),
    ("tratamiento", Concept::Salutation),
    ("aanhef", Concept::Salutation),
    // Where people live.
    ("address", Concept::Address),
    ("addr", Concept::Address),
    ("street", Concept::Address),
    ("address line", Concept::Address),
    ("house number", Concept::Address),
    ("mailing address", Concept::Address),
    ("home address", Concept::Address),
    ("adresse", Concept::Address),
    ("anschrift", Concept::Address),
    ("strasse", Concept::Address),
    ("hausnummer", Concept::Address),
    ("rue", Concept::Address),
    ("voie", Concept::Address),
    ("direccion", Concept::Address),
    ("calle", Concept::Address),
    ("domicilio", Concept::Address),
    ("adres", Concept::Address),
    ("straat", Concept::Address),
    ("huisnummer", Concept::Address),
    ("indirizzo", Concept::Address),
    ("endereco", Concept::Address),
    ("morada", Concept::Address),
    ("postcode", Concept::Postcode),
    ("post code", Concept::Postcode),
    ("postal code", Concept::Postcode),
    ("postalcode", Concept::Postcode),
    ("zip", Concept::Postcode),
    ("zipcode", Concept::Postcode),
    ("zip code", Concept::Postcode),
    ("plz", Concept::Postcode),
    ("postleitzahl", Concept::Postcode),
    ("code postal", Concept::Postcode),
    ("cp", Concept::Postcode),
    ("codigo postal", Concept::Postcode),
    ("cap", Concept::Postcode),
    ("cep", Concept::Postcode),
    ("city", Concept::City),
    ("town", Concept::City),
    ("locality", Concept::City),
    ("municipality", Concept::City),
    ("stadt", Concept::City),
    ("ort", Concept::City),
    ("wohnort", Concept::City),
    ("ville", Concept::City),
    ("commune", Concept::City),
    ("ciudad", Concept::City),
    ("localidad", Concept::City),
    ("municipio", Concept::City),
    ("plaats", Concept::City),
    ("woonplaats", Concept::City),
    ("stad", Concept::City),
    ("citta", Concept::City),
    ("cidade", Concept::City),
    ("latitude", Concept::Geo),
    ("longitude", Concept::Geo),
    ("lat", Concept::Geo),
    ("lng", Concept::Geo),
    ("lon", Concept::Geo),
    ("geolocation", Concept::Geo),
    ("geo", Concept::Geo),
    ("coordinates", Concept::Geo),
    ("breitengrad", Concept::Geo),
    ("laengengrad", Concept::Geo),
    ("breite", Concept::Geo),
    ("laenge", Concept::Geo),
    ("latitud", Concept::Geo),
    ("longitud", Concept::Geo),
    // Pictures and links.
    ("photo", Concept::Photo),
    ("picture", Concept::Photo),
    ("pic", Concept::Photo),
    ("avatar", Concept::Photo),
    ("image", Concept::Photo),
    ("img", Concept::Photo),
    ("portrait", Concept::Photo),
    ("signature", Concept::Photo),
    ("selfie", Concept::Photo),
    ("thumbnail", Concept::Photo),
    ("foto", Concept::Photo),
    ("bild", Concept::Photo),
    ("lichtbild", Concept::Photo),
    ("imagen", Concept::Photo),
    ("afbeelding", Concept::Photo),
    ("url", Concept::Url),
    ("path", Concept::Url),
    ("file name", Concept::Url),
    ("uri", Concept::Url),
    ("homepage", Concept::Url),
    ("website", Concept::Url),
    ("web site", Concept::Url),
    ("web page", Concept::Url),
    ("link", Concept::Url),
    ("profile url", Concept::Url),
    ("webseite", Concept::Url),
    ("site web", Concept::Url),
    ("pagina web", Concept::Url),
    // Sensitive attributes.
    ("salary", Concept::Salary),
    ("income", Concept::Salary),
    ("wage", Concept::Salary),
    ("wages", Concept::Salary),
    ("pay rate", Concept::Salary),
    ("compensation", Concept::Salary),
    ("gehalt", Concept::Salary),
    ("lohn", Concept::Salary),
    ("einkommen", Concept::Salary),
    ("salaire", Concept::Salary),
    ("revenu", Concept::Salary),
    ("salario", Concept::Salary),
    ("sueldo", Concept::Salary),
    ("salaris", Concept::Salary),
    ("inkomen", Concept::Salary),
    ("age", Concept::Age),
    ("edad", Concept::Age),
    ("leeftijd", Concept::Age),
    ("gender", Concept::Gender),
    ("sex", Concept::Gender),
    ("geschlecht", Concept::Gender),
    ("sexe", Concept::Gender),
    ("genre", Concept::Gender),
    ("sexo", Concept::Gender),
    ("genero", Concept::Gender),
    ("geslacht", Concept::Gender),
    // Organisations and jobs.
    ("company", Concept::Company),
    ("company name", Concept::Company),
    ("companyname", Concept::Company),
    ("employer", Concept::Company),
    ("organisation", Concept::Company),
    ("organization", Concept::Company),
    ("org name", Concept::Company),
    ("business name", Concept::Company),
    ("firma", Concept::Company),
    ("firmenname", Concept::Company),
    ("unternehmen", Concept::Company),
    ("arbeitgeber", Concept::Company),
    ("societe", Concept::Company),
    ("entreprise", Concept::Company),
    ("raison sociale", Concept::Company),
    ("empresa", Concept::Company),
    ("razon social", Concept::Company),
    ("bedrijf", Concept::Company),
    ("bedrijfsnaam", Concept::Company),
    ("azienda", Concept::Company),
    ("job title", Concept::JobTitle),
    ("job", Concept::JobTitle),
    ("position", Concept::JobTitle),
    ("occupation", Concept::JobTitle),
    ("profession", Concept::JobTitle),
    ("designation", Concept::JobTitle),
    ("contact title", Concept::JobTitle),
    ("beruf", Concept::JobTitle),
    ("berufsbezeichnung", Concept::JobTitle),
    ("stelle", Concept::JobTitle),
    ("metier", Concept::JobTitle),
    ("fonction", Concept::JobTitle),
    ("poste", Concept::JobTitle),
    ("puesto", Concept::JobTitle),
    ("profesion", Concept::JobTitle),
    ("functie", Concept::JobTitle),
    ("beroep", Concept::JobTitle),
    // Free text.
    ("notes", Concept::FreeText),
    ("note", Concept::FreeText),
    ("comment", Concept::FreeText),
    ("comments", Concept::FreeText),
    ("remark", Concept::FreeText),
    ("remarks", Concept::FreeText),
    ("description", Concept::FreeText),
    ("desc", Concept::FreeText),
    ("bio", Concept::FreeText),
    ("biography", Concept::FreeText),
    ("about", Concept::FreeText),
    ("memo", Concept::FreeText),
    ("message", Concept::FreeText),
    ("body", Concept::FreeText),
    ("content", Concept::FreeText),
    ("text", Concept::FreeText),
    ("subject", Concept::FreeText),
    ("summary", Concept::FreeText),
    ("details", Concept::FreeText),
    ("feedback", Concept::FreeText),
    ("review", Concept::FreeText),
    ("instructions", Concept::FreeText),
    ("bemerkung", Concept::FreeText),
    ("bemerkungen", Concept::FreeText),
    ("notiz", Concept::FreeText),
    ("kommentar", Concept::FreeText),
    ("beschreibung", Concept::FreeText),
    ("nachricht", Concept::FreeText),
    ("hinweis", Concept::FreeText),
    ("commentaire", Concept::FreeText),
    ("remarque", Concept::FreeText),
    ("observations", Concept::FreeText),
    ("comentario", Concept::FreeText),
    ("comentarios", Concept::FreeText),
    ("observaciones", Concept::FreeText),
    ("descripcion", Concept::FreeText),
    ("mensaje", Concept::FreeText),
    ("opmerking", Concept::FreeText),
    ("opmerkingen", Concept::FreeText),
    ("omschrijving", Concept::FreeText),
    ("beschrijving", Concept::FreeText),
    ("notitie", Concept::FreeText),
    ("bericht", Concept::FreeText),
    ("note interne", Concept::FreeText),
    // Coarse geography.
    ("country", Concept::Country),
    ("country code", Concept::Country),
    ("nationality", Concept::Country),
    ("land", Concept::Country),
    ("staat", Concept::Country),
    ("pays", Concept::Country),
    ("pais", Concept::Country),
    ("paese", Concept::Country),
    ("region", Concept::Region),
    ("state", Concept::Region),
    ("province", Concept::Region),
    ("county", Concept::Region),
    ("territory", Concept::Region),
    ("territories", Concept::Region),
    ("regions", Concept::Region),
    ("states", Concept::Region),
    ("countries", Concept::Country),
    ("provinces", Concept::Region),
    ("district", Concept::Region),
    ("bundesland", Concept::Region),
    ("provinz", Concept::Region),
    ("departement", Concept::Region),
    ("provincia", Concept::Region),
    ("estado", Concept::Region),
    ("comunidad", Concept::Region),
    ("provincie", Concept::Region),
    ("gemeente", Concept::Region),
    ("timezone", Concept::Region),
    ("time zone", Concept::Region),
    ("locale", Concept::Region),
    ("language", Concept::Region),
    ("currency", Concept::Region),
    // Things, not people.
    ("product", Concept::Product),
    ("products", Concept::Product),
    ("category", Concept::Product),
    ("categories", Concept::Product),
    ("item", Concept::Product),
    ("items", Concept::Product),
    ("article", Concept::Product),
    ("sku", Concept::Product),
    ("catalog", Concept::Product),
    ("catalogue", Concept::Product),
    ("brand", Concept::Product),
    ("model", Concept::Product),
    ("service", Concept::Product),
    ("produkt", Concept::Product),
    ("artikel", Concept::Product),
    ("kategorie", Concept::Product),
    ("produit", Concept::Product),
    ("categorie", Concept::Product),
    ("producto", Concept::Product),
    ("categoria", Concept::Product),
    ("quantity", Concept::Measure),
    ("qty", Concept::Measure),
    ("unit", Concept::Measure),
    ("units", Concept::Measure),
    ("amount", Concept::Measure),
    ("price", Concept::Measure),
    ("cost", Concept::Measure),
    ("total", Concept::Measure),
    ("discount", Concept::Measure),
    ("weight", Concept::Measure),
    ("stock", Concept::Measure),
    ("count", Concept::Measure),
    ("menge", Concept::Measure),
    ("preis", Concept::Measure),
    ("betrag", Concept::Measure),
    ("quantite", Concept::Measure),
    ("prix", Concept::Measure),
    ("montant", Concept::Measure),
    ("cantidad", Concept::Measure),
    ("precio", Concept::Measure),
    ("importe", Concept::Measure),
    ("hoeveelheid", Concept::Measure),
    ("prijs", Concept::Measure),
    ("bedrag", Concept::Measure),
    ("status", Concept::Status),
    ("state code", Concept::Status),
    ("type", Concept::Status),
    ("kind", Concept::Status),
    ("flag", Concept::Status),
    ("channel", Concept::Status),
    ("level", Concept::Status),
    ("priority", Concept::Status),
    ("mode", Concept::Status),
    ("tier", Concept::Status),
    ("typ", Concept::Status),
    ("art", Concept::Status),
    ("statut", Concept::Status),
    ("estado civil", Concept::Status),
    ("tipo", Concept::Status),
    ("soort", Concept::Status),
    // Generic words, weakest.
    ("name", Concept::Name),
    ("nom", Concept::Name),
    ("nombre", Concept::Name),
    ("naam", Concept::Name),
    ("nome", Concept::Name),
    ("title", Concept::Title),
    ("titel", Concept::Title),
    ("titre", Concept::Title),
    ("titulo", Concept::Title),
    ("id", Concept::Id),
    ("uuid", Concept::Id),
    ("guid", Concept::Id),
    ("key", Concept::Id),
    ("pk", Concept::Id),
    ("fk", Concept::Id),
    ("ref", Concept::Id),
    ("code", Concept::Id),
    ("nr", Concept::Id),
    ("no", Concept::Id),
    ("num", Concept::Id),
];

/// Last words of a number column's name that say it counts something.
const COUNTERS: &[&str] = &[
    "count", "counts", "counter", "total", "attempts", "tries", "retries", "visits", "views", "clicks", "hits",
    "logins", "sessions", "quantity", "qty", "anzahl",
];

/// Words in a column name that say its free text describes the row's thing (a film's
/// synopsis, a product's description), as opposed to what people write (notes, messages).
const DESCRIBES_A_THING: &[&str] = &[
    "description",
    "desc",
    "summary",
    "synopsis",
    "overview",
    "plot",
    "abstract",
    "caption",
    "blurb",
    "beschreibung",
    "descripcion",
];

/// Words in a table or column name that say its rows are about people.
const PERSON_ENTITIES: &[&str] = &[
    "person",
    "persons",
    "people",
    "user",
    "users",
    "customer",
    "customers",
    "client",
    "clients",
    "member",
    "members",
    "employee",
    "employees",
    "staff",
    "contact",
    "contacts",
    "patient",
    "patients",
    "student",
    "students",
    "author",
    "authors",
    "owner",
    "owners",
    "driver",
    "drivers",
    "passenger",
    "passengers",
    "tenant",
    "tenants",
    "applicant",
    "applicants",
    "candidate",
    "candidates",
    "subscriber",
    "subscribers",
    "recipient",
    "recipients",
    "guest",
    "guests",
    "visitor",
    "visitors",
    "account",
    "accounts",
    "profile",
    "profiles",
    "kunde",
    "kunden",
    "mitarbeiter",
    "benutzer",
    "nutzer",
    "mitglied",
    "mitglieder",
    "personen",
    "utilisateur",
    "utilisateurs",
    "employe",
    "employes",
    "salarie",
    "salaries",
    "adherent",
    "adherents",
    "membre",
    "membres",
    "cliente",
    "clientes",
    "usuarios",
    "empleado",
    "empleados",
    "socio",
    "socios",
    "miembro",
    "miembros",
    "paciente",
    "pacientes",
    "klant",
    "klanten",
    "gebruiker",
    "gebruikers",
    "medewerker",
    "medewerkers",
    "werknemer",
    "werknemers",
    "leden",
    "persoon",
    "personen",
];

/// A name split into lowercase, accent-folded tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tokens {
    pub tokens: Vec<String>,
}

impl Tokens {
    /// Splits `name` (see the module docs).
    pub fn of(name: &str) -> Tokens {
        let chars: Vec<char> = name.chars().collect();
        let mut tokens = Vec::new();
        let mut current = String::new();
        for (i, &c) in chars.iter().enumerate() {
            if !c.is_alphabetic() {
                if !current.is_empty() {
                    tokens.push(fold(&std::mem::take(&mut current)));
                }
                continue;
            }
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1).copied();
            // camelCase: a capital after a lowercase letter; acronyms: the last capital of a
            // run of capitals followed by a lowercase letter (`IPAddress` → `IP`, `Address`).
            let boundary = c.is_uppercase()
                && prev.is_some_and(|p| p.is_lowercase() || (p.is_uppercase() && next.is_some_and(char::is_lowercase)));
            if boundary && !current.is_empty() {
                tokens.push(fold(&std::mem::take(&mut current)));
            }
            current.push(c);
        }
        if !current.is_empty() {
            tokens.push(fold(&current));
        }
        Tokens { tokens: tokens.into_iter().filter(|t| !t.is_empty()).collect() }
    }

    /// Whether a token says the rows are about people (`customers`, `Mitarbeiter`).
    pub fn names_people(&self) -> bool {
        self.tokens.iter().any(|t| PERSON_ENTITIES.contains(&t.as_str()))
    }

    /// Whether the last word says the number counts something (`login_count`,
    /// `failed_attempts`): a counter, whatever the words before it name.
    pub fn head_counts(&self) -> bool {
        self.tokens.last().is_some_and(|t| COUNTERS.contains(&t.as_str()))
    }

    /// Whether a token says the text describes the row's thing (`description`, `synopsis`).
    pub fn describes_a_thing(&self) -> bool {
        self.tokens.iter().any(|t| DESCRIBES_A_THING.contains(&t.as_str()))
    }

    /// Whether the head of a compound name says its rows are people: the last word, as in
    /// English compounds (`customers`, `crm_contacts`), so `customer_demographics` and
    /// `employee_territories` name demographics and territories, not people.
    pub fn head_names_people(&self) -> bool {
        self.tokens.last().is_some_and(|t| PERSON_ENTITIES.contains(&t.as_str()))
    }

    /// The concepts the name matches, strongest first (see the module docs).
    pub fn concepts(&self) -> Vec<Concept> {
        let joined: String = self.tokens.concat();
        let mut boundaries = vec![0];
        let mut at = 0;
        for t in &self.tokens {
            at += t.len();
            boundaries.push(at);
        }
        let mut matches: Vec<(usize, usize, Concept)> = Vec::new();
        for (entry, concept) in ENTRIES {
            let compact: String = entry.split(' ').collect();
            for (s, _) in joined.match_indices(compact.as_str()) {
                let e = s + compact.len();
                let (sb, eb) = (boundaries.contains(&s), boundaries.contains(&e));
                // Only at the start or end of a token, and not inside a token of which the
                // entry is just a piece unless it is long enough to be a word of its own.
                let inside_one_token = !boundaries.iter().any(|&b| b > s && b < e);
                let ok = (sb && eb) || (compact.len() >= 4 && inside_one_token && (sb || eb));
                if ok {
                    matches.push((s, e, *concept));
                }
            }
        }
        // Drop matches lying inside a longer one.
        let kept: Vec<(usize, usize, Concept)> = matches
            .iter()
            .copied()
            .filter(|&(s, e, _)| !matches.iter().any(|&(s2, e2, _)| s2 <= s && e <= e2 && (e2 - s2) > (e - s)))
            .collect();
        let mut concepts: Vec<Concept> = kept.into_iter().map(|(_, _, c)| c).collect();
        concepts.sort();
        concepts.dedup();
        concepts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<String> {
        Tokens::of(s).tokens
    }

    fn top(s: &str) -> Option<Concept> {
        Tokens::of(s).concepts().first().copied()
    }

    #[test]
    fn names_are_split_and_folded() {
        assert_eq!(tokens("homePhone"), ["home", "phone"]);
        assert_eq!(tokens("IPAddress"), ["ip", "address"]);
        assert_eq!(tokens("customer_ID"), ["customer", "id"]);
        assert_eq!(tokens("e-mail"), ["e", "mail"]);
        assert_eq!(tokens("Straße 2"), ["strasse"]);
        assert_eq!(tokens("téléphone"), ["telephone"]);
        assert_eq!(tokens("DateDeNaissance"), ["date", "de", "naissance"]);
    }

    #[test]
    fn english_names() {
        assert_eq!(top("first_name"), Some(Concept::FirstName));
        assert_eq!(top("firstname"), Some(Concept::FirstName));
        assert_eq!(top("custFirstName"), Some(Concept::FirstName));
        assert_eq!(top("surname"), Some(Concept::LastName));
        assert_eq!(top("contact_name"), Some(Concept::FullName));
        assert_eq!(top("email_address"), Some(Concept::Email));
        assert_eq!(top("ip_address"), Some(Concept::Ip));
        assert_eq!(top("home_phone"), Some(Concept::Phone));
        assert_eq!(top("fax"), Some(Concept::Phone));
        assert_eq!(top("date_of_birth"), Some(Concept::BirthDate));
        assert_eq!(top("DOB"), Some(Concept::BirthDate));
        assert_eq!(top("zip"), Some(Concept::Postcode));
        assert_eq!(top("postal_code"), Some(Concept::Postcode));
        assert_eq!(top("password_hash"), Some(Concept::Secret));
        assert_eq!(top("ssn"), Some(Concept::NationalId));
        assert_eq!(top("card_number"), Some(Concept::Card));
        assert_eq!(top("notes"), Some(Concept::FreeText));
        assert_eq!(top("photo"), Some(Concept::Photo));
        assert_eq!(top("title_of_courtesy"), Some(Concept::Salutation));
        assert_eq!(top("ship_address"), Some(Concept::Address));
        assert_eq!(top("mailing_address"), Some(Concept::Address));
        assert_eq!(top("user_name"), Some(Concept::Username));
        assert_eq!(top("product_name"), Some(Concept::Product));
        assert_eq!(top("name"), Some(Concept::Name));
    }

    #[test]
    fn other_languages() {
        // German
        assert_eq!(top("Vorname"), Some(Concept::FirstName));
        assert_eq!(top("Nachname"), Some(Concept::LastName));
        assert_eq!(top("Telefonnummer"), Some(Concept::Phone));
        assert_eq!(top("Straße"), Some(Concept::Address));
        assert_eq!(top("PLZ"), Some(Concept::Postcode));
        assert_eq!(top("Geburtsdatum"), Some(Concept::BirthDate));
        // French
        assert_eq!(top("prénom"), Some(Concept::FirstName));
        assert_eq!(top("nom_de_famille"), Some(Concept::LastName));
        assert_eq!(top("téléphone"), Some(Concept::Phone));
        assert_eq!(top("courriel"), Some(Concept::Email));
        assert_eq!(top("code_postal"), Some(Concept::Postcode));
        assert_eq!(top("date_de_naissance"), Some(Concept::BirthDate));
        assert_eq!(top("rue"), Some(Concept::Address));
        // Spanish
        assert_eq!(top("apellidos"), Some(Concept::LastName));
        assert_eq!(top("fecha_de_nacimiento"), Some(Concept::BirthDate));
        assert_eq!(top("correo_electronico"), Some(Concept::Email));
        assert_eq!(top("calle"), Some(Concept::Address));
        // Dutch
        assert_eq!(top("voornaam"), Some(Concept::FirstName));
        assert_eq!(top("achternaam"), Some(Concept::LastName));
        assert_eq!(top("geboortedatum"), Some(Concept::BirthDate));
        assert_eq!(top("woonplaats"), Some(Concept::City));
    }

    #[test]
    fn pieces_inside_words_do_not_match() {
        assert_eq!(top("accompanying"), None);
        assert_eq!(top("hotel"), None);
        assert_eq!(top("description"), Some(Concept::FreeText));
        assert_eq!(top("shipping"), None);
        assert_eq!(top("discontinued"), None);
    }

    #[test]
    fn people_entities() {
        assert!(Tokens::of("public.customers").names_people());
        assert!(Tokens::of("cd.members").names_people());
        assert!(Tokens::of("Mitarbeiter").names_people());
        assert!(Tokens::of("crm_contacts").head_names_people());
        assert!(!Tokens::of("customer_demographics").head_names_people());
        assert!(!Tokens::of("employee_territories").head_names_people());
        assert!(!Tokens::of("public.products").names_people());
        assert!(!Tokens::of("cd.facilities").names_people());
    }
}
