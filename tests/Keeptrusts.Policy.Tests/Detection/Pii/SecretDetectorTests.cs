using Keeptrusts.Policy.Detection.Pii;
using static Keeptrusts.Policy.Tests.Detection.Pii.PiiTestScanner;

namespace Keeptrusts.Policy.Tests.Detection.Pii;

public class SecretDetectorTests
{
    // Fabricated values with the real structure of each provider's credentials.
    public static TheoryData<string, string, string> Positives => new()
    {
        { "export AWS_ACCESS_KEY_ID=AKIAGI3MNBQNSPUQ2IDW", "AKIAGI3MNBQNSPUQ2IDW", "aws_access_key" },
        { "aws secret: 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", "1ghxY5OokvQyx7eNWVQ4vnakJkS1pAWTN3lg8zV5", "aws_secret_key" },
        { "token ghp_XoIIXGvOoNZYW2mZp0zVZomHFwUbbYrEqmSM please", "ghp_XoIIXGvOoNZYW2mZp0zVZomHFwUbbYrEqmSM", "github_token" },
        { "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", "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", "github_token" },
        { "use glpat-61qtc4xatws8phP9nhFy for CI", "glpat-61qtc4xatws8phP9nhFy", "gitlab_token" },
        { "slack xoxb-401878017598-9834788783848-58m1CiAhzCueQpBenQtYh5Xj", "xoxb-401878017598-9834788783848-58m1CiAhzCueQpBenQtYh5Xj", "slack_token" },
        { "post to https://hooks.slack.com/services/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 now", "https://hooks.slack.com/services/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", "slack_webhook" },
        { "stripe sk_live_8TPQxjq4i9DoV8gz4FkQ1okT", "sk_live_8TPQxjq4i9DoV8gz4FkQ1okT", "stripe_key" },
        { "openai 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", "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", "openai_key" },
        { "anthropic sk-ant-api03-q2HZt-PlJhx2jIclHkCiHp6bR1IqfEouHgxzNNAL5wIScGebcy8F5n3-YNBDRzrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNBAA", "sk-ant-api03-q2HZt-PlJhx2jIclHkCiHp6bR1IqfEouHgxzNNAL5wIScGebcy8F5n3-YNBDRzrZSgqbjG3uhkWKFLf6xuI5aHUQPFeNBAA", "anthropic_key" },
        { "maps AIzaTxaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcD", "AIzaTxaQWk8JzFalHlsZfYcMMDktXP-tKsf2rcD", "google_api_key" },
        { "mail 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", "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", "sendgrid_key" },
        { "npm_687neLfjVHq8xiM0OGr4hTxoF54Fzbka8FRC", "npm_687neLfjVHq8xiM0OGr4hTxoF54Fzbka8FRC", "npm_token" },
        { "pypi-AgEIcHlwaS5vcmcZMs1SWOpQaPRYpzbLGViYXjU2JgJngKtFI3OyV2dZAkg05rK_gqv81RKMGHZEM9YpvujA-C5Q52ryFlwRlOEVHzc0X0AWIRh-JUqBlIFXZ53Ncqe28_ajY75", "pypi-AgEIcHlwaS5vcmcZMs1SWOpQaPRYpzbLGViYXjU2JgJngKtFI3OyV2dZAkg05rK_gqv81RKMGHZEM9YpvujA-C5Q52ryFlwRlOEVHzc0X0AWIRh-JUqBlIFXZ53Ncqe28_ajY75", "pypi_token" },
        { "twilio SK0947aaeb26c57d21fa5d328263dfe574", "SK0947aaeb26c57d21fa5d328263dfe574", "twilio_api_key" },
        { "Authorization: Bearer eyJhbGciOiAiUlMyNTYiLCAia2lkIjogImsxIn0.eyJzdWIiOiAiNDIiLCAic2NvcGUiOiAicmVhZCJ9.FnCttn6kfaqDeMqG3omjMyXHCabM6JOF8EFd0Nhcy-1", "eyJhbGciOiAiUlMyNTYiLCAia2lkIjogImsxIn0.eyJzdWIiOiAiNDIiLCAic2NvcGUiOiAicmVhZCJ9.FnCttn6kfaqDeMqG3omjMyXHCabM6JOF8EFd0Nhcy-1", "jwt" },
        { "DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=FEE6qmzsXjp+CLJWt2tcrmUyAcxKvdiBETR++DNPxNExO3c4Q8LjSxvzn36cL+U5fGrpqg7ymCXsZA02BvmYJA==;EndpointSuffix=core.windows.net", "FEE6qmzsXjp+CLJWt2tcrmUyAcxKvdiBETR++DNPxNExO3c4Q8LjSxvzn36cL+U5fGrpqg7ymCXsZA02BvmYJA==", "azure_storage_key" },
        { "DATABASE_URL=postgres://app:Zq8v!Rt2pLx9@db.internal:5432/app", "Zq8v!Rt2pLx9", "basic_auth" },
        { "password = \"Tr0ub4dor&3x\"", "Tr0ub4dor&3x", "password" },
        { "{\"client_secret\": \"c9VbN2xQ7rT4kLm8\"}", "c9VbN2xQ7rT4kLm8", "generic_secret" },
        { "api_key: 7fJq2LmZ9xVb4TnR", "7fJq2LmZ9xVb4TnR", "generic_secret" },
        { "DB_PWD=hunter22x", "hunter22x", "password" },
        { "//registry.npmjs.org/:_authToken=4f6d2a1e-93b7-4c1a-8e2f-0d5b7c9a1e34", "4f6d2a1e-93b7-4c1a-8e2f-0d5b7c9a1e34", "npm_token" },
        { "curl -H 'X-Api-Key: Vx9Lq2Rm7Tz4Kp8Wn3Bc6Hd1Fg5Js0Ay'", "Vx9Lq2Rm7Tz4Kp8Wn3Bc6Hd1Fg5Js0Ay", "generic_secret" },
        { "secret token near: q7Zr2Xv9LmT4bN8kP3wY6cF1hJ5sD0gA", "q7Zr2Xv9LmT4bN8kP3wY6cF1hJ5sD0gA", "high_entropy" },
        { "blob Hk3q9Zr7Xv2LmT4bN8kP3wY6cF1hJ5sD0gAeR7uI9oP", "Hk3q9Zr7Xv2LmT4bN8kP3wY6cF1hJ5sD0gAeR7uI9oP", "high_entropy" },
    };

    [Theory]
    [MemberData(nameof(Positives))]
    public void Finds_secrets(string text, string expected, string subtype)
    {
        var found = Matches(text).Where(m => m.Type == PiiEntityType.Secret).ToList();

        Assert.Equal([expected], found.Select(m => text.Substring(m.Start, m.Length)));
        Assert.Equal(subtype, found[0].Subtype);
    }

    [Fact]
    public void Finds_a_pem_private_key_block_whole()
    {
        var pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf9Cnzj4p4WGeKLs1Pt8Qu\nKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END RSA PRIVATE KEY-----";
        var text = $"key:\n{pem}\nthanks";

        var found = Assert.Single(Matches(text));

        Assert.Equal((PiiEntityType.Secret, "private_key"), (found.Type, found.Subtype));
        Assert.Equal(pem, text.Substring(found.Start, found.Length));
    }

    [Theory]
    [InlineData("The quick brown fox jumps over the lazy dog while the well-known task-based approach works.")]
    [InlineData("commit 6abf0d7c1c1e21862ab8a18a8902073fec8df4f5 fixed the build")]
    [InlineData("request id 4f6d2a1e-93b7-4c1a-8e2f-0d5b7c9a1e34 failed")]
    [InlineData("see src/Keeptrusts.Policy/Detection/Pii/PiiScanner.cs line 42")]
    [InlineData("integrity sha512-q7Zr2Xv9LmT4bN8kP3wY6cF1hJ5sD0gAq7Zr2Xv9LmT4bN8kP3wY6cF1hJ5sD0gA==")]
    [InlineData("password = \"changeme\"")]
    [InlineData("password: ${DB_PASSWORD}")]
    [InlineData("api_key = os.environ['API_KEY']")]
    [InlineData("token = settings.api_token")]
    [InlineData("password: <your password here>")]
    [InlineData("secret_name: my-app-secret-v2")]
    [InlineData("max_tokens: 4096")]
    [InlineData("tokenizer = AutoTokenizer.from_pretrained(name)")]
    [InlineData("if password == \"Tr0ub4dor&3x\":")]
    [InlineData("Password: use the one from the vault")]
    [InlineData("postgres://user:password@localhost/db")]
    [InlineData("AKIAIOSFODNN7EXAMPLE is the documented sample id")]
    [InlineData("pk_live_51HfQeLJd8Gm2xW4nQ3rT7yZ is a publishable key")]
    [InlineData("sk-not-a-real-key and task-force")]
    [InlineData("jwt-ish eyJhbGciOi.eyJzdWIi")]
    [InlineData("The parameters are: temperature=0.7, top_p=0.9, key=value")]
    [InlineData("[REDACTED:SECRET] password=[REDACTED:SECRET]")]
    public void Ignores_ordinary_text(string text) => Assert.Empty(Values(text, PiiEntityType.Secret));

    [Fact]
    public void A_match_never_carries_the_secret_text()
    {
        var match = Assert.Single(Matches("token ghp_XoIIXGvOoNZYW2mZp0zVZomHFwUbbYrEqmSM"));

        Assert.DoesNotContain("XoIIXG", match.ToString(), StringComparison.Ordinal);
    }
}
