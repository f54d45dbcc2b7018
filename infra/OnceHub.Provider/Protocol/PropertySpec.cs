namespace OnceHub.Provider.Protocol;

/// <summary>
/// What the protocol layer needs to know of a resource property to encode it, declared by the resource
/// so that no resource code writes secret wrappers or unknowns itself.
/// </summary>
/// <param name="Key">The property's name in the engine's property maps.</param>
/// <param name="Input">Set by the program (the state repeats it, secret when the input was); false for an
/// output only the API knows, which a preview reports as unknown.</param>
/// <param name="Secret">Always a secret, whatever the inputs.</param>
public sealed record PropertySpec(string Key, bool Input, bool Secret = false);
