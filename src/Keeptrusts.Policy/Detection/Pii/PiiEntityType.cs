namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>The kinds of sensitive data the PII scanner recognises. Combine values to select several.</summary>
[Flags]
internal enum PiiEntityType
{
    /// <summary>No entity.</summary>
    None = 0,

    /// <summary>An e-mail address (<c>EMAIL_ADDRESS</c>).</summary>
    EmailAddress = 1 << 0,

    /// <summary>A telephone number, US or international (<c>PHONE_NUMBER</c>).</summary>
    PhoneNumber = 1 << 1,

    /// <summary>A payment card number with a valid Luhn check digit (<c>CREDIT_CARD</c>).</summary>
    CreditCard = 1 << 2,

    /// <summary>A US social security number (<c>US_SSN</c>).</summary>
    UsSsn = 1 << 3,

    /// <summary>An international bank account number with valid check digits (<c>IBAN_CODE</c>).</summary>
    IbanCode = 1 << 4,

    /// <summary>An IPv4 or IPv6 address (<c>IP_ADDRESS</c>).</summary>
    IpAddress = 1 << 5,

    /// <summary>A Bitcoin address with a valid checksum (<c>CRYPTO</c>).</summary>
    Crypto = 1 << 6,

    /// <summary>A credential: provider API key, token, private key, password assignment or high-entropy string (<c>SECRET</c>).</summary>
    Secret = 1 << 7,

    /// <summary>Every entity type.</summary>
    All = EmailAddress | PhoneNumber | CreditCard | UsSsn | IbanCode | IpAddress | Crypto | Secret,
}
