using OnceHub.Provider.Protocol;
using OnceHub.Provider.Resources;

namespace OnceHub.Provider.Tests;

/// <summary>The account's url rule decides; the provider words each of its refusals as one sentence for Pulumi.</summary>
public sealed class UrlRefusalWordingTests
{
    private const string Absolute = "url must be an absolute URL such as https://hooks.example.com/oncehub.";

    [Theory]
    [InlineData("   ", false, Absolute)]
    [InlineData("/relative/path", false, Absolute)]
    [InlineData("https://", false, Absolute)]
    [InlineData("file://server/share/hooks", false, Absolute)]
    [InlineData("ftp://hooks.example.com/x", false, "url must use https, not ftp.")]
    [InlineData("ftp://hooks.example.com/x", true, "url must use https, not ftp.")]
    [InlineData("http://hooks.example.com/x", false,
        "url must use https: OnceHub delivers only to https endpoints (a local stack may set oncehub:allowInsecureUrls to use a http://127.0.0.1 receiver).")]
    [InlineData("http://10.0.0.1/x", true,
        "url may use plain http only for a loopback address (127.0.0.1, [::1] or localhost), even with oncehub:allowInsecureUrls.")]
    public void Each_url_refusal_reads_as_its_own_sentence(string url, bool allowInsecureUrls, string expected)
    {
        var failure = Assert.Single(Check(url, allowInsecureUrls).Failures);
        Assert.Equal((WebhookResource.Url, expected), (failure.Property, failure.Reason));
    }

    [Theory]
    [InlineData("https://hooks.example.com/x", false)]
    [InlineData("http://127.0.0.1:5080/x", true)]
    [InlineData("http://localhost/x", true)]
    public void An_accepted_url_draws_no_failure(string url, bool allowInsecureUrls) =>
        Assert.Empty(Check(url, allowInsecureUrls).Failures);

    private static CheckedInputs Check(string url, bool allowInsecureUrls)
    {
        var news = new WebhookInputs(Prop<string>.Of("hooks"), Prop<string>.Of(url), Prop<IReadOnlyList<string>>.Of(["booking"]));
        var olds = new WebhookInputs(null, null, null);
        return new WebhookResource(new Redactor()).Check(new WebhookCheck(news, olds, new Autonaming("hooks", default, null, null), allowInsecureUrls));
    }
}
