using System.CommandLine;
using OnceHub.Contracts.CommandLine;
using OnceHub.Webhooks;

namespace OnceHub.Contracts.Cli.Commands;

/// <summary><c>sign</c>: the <c>Oncehub-Signature</c> header value for a file's exact bytes.</summary>
internal static class SignCommand
{
    public static Command Create()
    {
        var secret = CommonOptions.Secret();
        var timestamp = new Option<long>("--timestamp")
        {
            Description = "the signature's t, whole unix seconds",
            HelpName = "T",
            Required = true,
            CustomParser = r => CommonOptions.Parse(r, "--timestamp", static v => Parsing.UnixSeconds("--timestamp", v)),
        };
        var file = new Argument<byte[]>("FILE")
        {
            Description = "the payload, signed byte for byte",
            CustomParser = r => CommonOptions.Parse(r, "sign", static v => Parsing.ReadFile("sign", v))!,
        };
        var command = new Command("sign", "Print the Oncehub-Signature header value t=T,s=HEX for FILE's exact bytes: HEX is the lowercase hex "
            + "HMAC-SHA256, keyed with the secret (UTF-8), of \"T.\" followed by the bytes.")
        {
            secret, timestamp, file,
        };
        command.SetAction(parsed =>
        {
            var key = CommonOptions.SecretValue(parsed, secret)
                ?? throw new UsageException($"sign: --secret (or {CliApp.SecretVariable}) is required");
            parsed.InvocationConfiguration.Output.WriteLine(new WebhookSigner(key).CreateHeader(parsed.GetValue(file)!, parsed.GetValue(timestamp)));
            return ExitCodes.Ok;
        });
        return command;
    }
}
