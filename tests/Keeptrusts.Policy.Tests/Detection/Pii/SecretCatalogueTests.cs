using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

/// <summary>
/// Token shapes of the detect-secrets plugins whose validity rules were tightened: each plugin's own positive and
/// negative shapes (prefix, alphabet, exact length, standing alone), on fabricated values.
/// </summary>
public class SecretCatalogueTests
{
    [Theory]
    [InlineData("AKCp8jQ1rT5vW9xZ2bD4fH6k", "artifactory_token")]
    [InlineData("AKCqwertyuiop12", "artifactory_token")]
    [InlineData("X-JFrog-Art-Api: AP6h3Jk9Lm2Nq5Rs8", "artifactory_token")]
    [InlineData("artifactory_password=APBx7Kp2Wq9Zr", "artifactory_token")]
    [InlineData("\"AP3cd82Ff0qQ\"", "artifactory_token")]
    [InlineData("twilio sid AC4f2a9c1e7b3d5f8a0c6e2b4d9f1a3c5e", "twilio_api_key")]
    [InlineData("key SKb7d2e9f4a1c6b3d8e5f0a7c2b9d4e1f6", "twilio_api_key")]
    [InlineData("token glpat-x8Kq2Wn5Zr7Tb3Vm9Lp4", "gitlab_token")]
    [InlineData("gldt-HwllOuhfw-wu0rlD_yep7", "gitlab_token")]
    [InlineData("GR1348941Zq8Wn2Kp5Tb7Vm3Lr9xa", "gitlab_token")]
    [InlineData("glimt-a1B2c3D4e5F6g7H8i9J0k1L2m", "gitlab_token")]
    [InlineData("glptt-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7f8a9b", "gitlab_token")]
    [InlineData("glcbt-2a_x8Kq2Wn5Zr7Tb3Vm9Lp4", "gitlab_token")]
    public void Plugin_positives_are_found(string text, string subtype)
    {
        var found = Matches(text).Where(static m => m.Type == PiiEntityType.Secret).ToList();

        Assert.Contains(found, m => m.Subtype == subtype);
    }

    [Theory]
    [InlineData("artifactory:_password=AKCxxxxxxxx")] // AKC + 8: too short
    [InlineData("AP6xxxxxxx")] // AP + hex + 7: too short
    [InlineData("The APEXLEGENDS tournament starts today")] // a capitalised word, not a key
    [InlineData("APG7k2m9q4w8z1")] // AP then a non-hex letter
    [InlineData("CHAPTER9abcdefgh of the book")] // "AP" inside a word
    [InlineData("AP6xxxxxxxxxx.json")] // continues past the token
    [InlineData("AC4F2A9C1E7B3D5F8A0C6E2B4D9F1A3C5E")] // Twilio bodies are lower case
    [InlineData("SKb7d2e9f4a1c6b3d8e5f0a7c2b9d4e1")] // 30 characters after SK
    [InlineData("glpat-short1234")] // under 20
    [InlineData("glpat-x8Kq2Wn5Zr7Tb3Vm9Lp4x8Kq2Wn5Zr7Tb3Vm9Lp4x8Kq2Wn5Zr7")] // over 50
    [InlineData("glimt-a1B2c3D4e5F6g7H8i9J0k1L2mX")] // glimt is exactly 25
    [InlineData("glptt-0a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6e7")] // glptt is exactly 40
    [InlineData("glpat-aaaaaaaaaaaaaaaaaaaaaaaa")] // one repeated character
    public void Plugin_negatives_are_not(string text)
    {
        var found = Matches(text).Where(static m => m.Type == PiiEntityType.Secret
            && m.Subtype is "artifactory_token" or "twilio_api_key" or "gitlab_token").ToList();

        Assert.Empty(found);
    }
}
