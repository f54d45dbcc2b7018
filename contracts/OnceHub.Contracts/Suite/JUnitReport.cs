using System.Globalization;
using System.Text;
using System.Xml;

namespace OnceHub.Contracts.Suite;

/// <summary>Writes a <see cref="SuiteReport"/> as JUnit XML, the format CI systems read test results from.</summary>
public static class JUnitReport
{
    public const string SuiteName = "OnceHub webhook contract";

    public static void Write(SuiteReport report, Stream output)
    {
        ArgumentNullException.ThrowIfNull(report);
        var settings = new XmlWriterSettings { Indent = true, Encoding = new UTF8Encoding(false) };
        using var xml = XmlWriter.Create(output, settings);
        var tests = report.CheckCount.ToString(CultureInfo.InvariantCulture);
        var failures = report.FailureCount.ToString(CultureInfo.InvariantCulture);
        var time = Seconds(report.WallTime);

        xml.WriteStartDocument();
        xml.WriteStartElement("testsuites");
        xml.WriteAttributeString("name", SuiteName);
        xml.WriteAttributeString("tests", tests);
        xml.WriteAttributeString("failures", failures);
        xml.WriteAttributeString("errors", "0");
        xml.WriteAttributeString("skipped", report.SkippedCount.ToString(CultureInfo.InvariantCulture));
        xml.WriteAttributeString("time", time);

        xml.WriteStartElement("testsuite");
        xml.WriteAttributeString("name", SuiteName);
        xml.WriteAttributeString("tests", tests);
        xml.WriteAttributeString("failures", failures);
        xml.WriteAttributeString("errors", "0");
        xml.WriteAttributeString("skipped", report.SkippedCount.ToString(CultureInfo.InvariantCulture));
        xml.WriteAttributeString("time", time);
        xml.WriteAttributeString("timestamp", DateTime.UtcNow.ToString("yyyy-MM-ddTHH:mm:ss", CultureInfo.InvariantCulture));

        xml.WriteStartElement("properties");
        Property(xml, "target", report.Target);
        Property(xml, "timeout_seconds", report.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture));
        Property(xml, "deadline_reached", report.DeadlineReached ? "true" : "false");
        Property(xml, "interrupted", report.Interrupted ? "true" : "false");
        xml.WriteEndElement();

        foreach (var check in report.Checks)
        {
            xml.WriteStartElement("testcase");
            xml.WriteAttributeString("classname", check.Event);
            xml.WriteAttributeString("name", check.Check);
            xml.WriteAttributeString("time", Seconds(check.Elapsed));
            if (check.Status == CheckStatus.Passed)
            {
                xml.WriteElementString("system-out", check.Detail);
            }
            else if (check.Status == CheckStatus.Skipped)
            {
                xml.WriteStartElement("skipped");
                xml.WriteAttributeString("message", check.Detail);
                xml.WriteEndElement();
            }
            else
            {
                xml.WriteStartElement("failure");
                xml.WriteAttributeString("type", "contract");
                xml.WriteAttributeString("message", check.Detail);
                xml.WriteString($"{check.Event} {check.Check}: {check.Detail}");
                xml.WriteEndElement();
            }
            xml.WriteEndElement();
        }

        xml.WriteEndElement();
        xml.WriteEndElement();
        xml.WriteEndDocument();
    }

    private static void Property(XmlWriter xml, string name, string value)
    {
        xml.WriteStartElement("property");
        xml.WriteAttributeString("name", name);
        xml.WriteAttributeString("value", value);
        xml.WriteEndElement();
    }

    private static string Seconds(TimeSpan t) => t.TotalSeconds.ToString("0.000", CultureInfo.InvariantCulture);
}
