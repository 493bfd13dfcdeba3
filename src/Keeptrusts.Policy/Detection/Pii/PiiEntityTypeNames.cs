namespace Keeptrusts.Policy.Detection.Pii;

/// <summary>Maps <see cref="PiiEntityType"/> values to and from their canonical upper-snake-case names (<c>EMAIL_ADDRESS</c> …).</summary>
internal static class PiiEntityTypeNames
{
    private static readonly (PiiEntityType Type, string Name)[] Names =
    [
        (PiiEntityType.EmailAddress, "EMAIL_ADDRESS"),
        (PiiEntityType.PhoneNumber, "PHONE_NUMBER"),
        (PiiEntityType.CreditCard, "CREDIT_CARD"),
        (PiiEntityType.UsSsn, "US_SSN"),
        (PiiEntityType.IbanCode, "IBAN_CODE"),
        (PiiEntityType.IpAddress, "IP_ADDRESS"),
        (PiiEntityType.Crypto, "CRYPTO"),
        (PiiEntityType.Secret, "SECRET"),
    ];

    /// <summary>Every single entity type, in declaration order.</summary>
    public static IReadOnlyList<PiiEntityType> SingleTypes { get; } = Array.ConvertAll(Names, static n => n.Type);

    /// <summary>Returns the canonical name of a single entity type, for example <c>CREDIT_CARD</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The value is not exactly one entity type.</exception>
    public static string ToCanonicalName(PiiEntityType type)
    {
        foreach (var (t, name) in Names)
        {
            if (t == type)
            {
                return name;
            }
        }

        throw new ArgumentOutOfRangeException(nameof(type), type, "Expected exactly one entity type.");
    }

    /// <summary>Parses a canonical name (case-insensitive) into a single entity type.</summary>
    /// <returns><see langword="true"/> when <paramref name="name"/> is a known canonical name.</returns>
    public static bool TryParse(ReadOnlySpan<char> name, out PiiEntityType type)
    {
        name = name.Trim();
        foreach (var (t, canonical) in Names)
        {
            if (name.Equals(canonical, StringComparison.OrdinalIgnoreCase))
            {
                type = t;
                return true;
            }
        }

        type = PiiEntityType.None;
        return false;
    }
}
