namespace Keeptrusts.Policy.Detection.Injection;

/// <summary>The families of prompt-injection technique the detector recognises.</summary>
[Flags]
internal enum InjectionCategory
{
    /// <summary>No injection signal.</summary>
    None = 0,

    /// <summary>Imperatives that tell the model to drop its prior instructions or take new ones.</summary>
    InstructionOverride = 1 << 0,

    /// <summary>Requests to reveal the system prompt, initial instructions or hidden rules.</summary>
    SystemPromptExtraction = 1 << 1,

    /// <summary>Persona jailbreaks: DAN, developer mode, "no restrictions" characters, two-persona formats.</summary>
    RolePlayJailbreak = 1 << 2,

    /// <summary>Forged chat-template tokens, role markers and fake end-of-prompt boundaries.</summary>
    DelimiterAttack = 1 << 3,

    /// <summary>Attack text hidden in base64, hex, percent-encoding, rot13 or reversed text.</summary>
    EncodedPayload = 1 << 4,

    /// <summary>
    /// No rule fired strongly enough, but the learned scorer (<see cref="InjectionModel"/>) rates the text as an
    /// injection. Reported as "model_score" so that a finding is never left unexplained.
    /// </summary>
    ModelScore = 1 << 5,
}
