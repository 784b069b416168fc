// RelayBench::buildReport: the tables, the JSON document and the targets of bench-relay.

#include "bench/relay/relaybench.h"

#include <QJsonArray>

namespace cr::bench {

namespace {

QString lossCell(quint64 lost, quint64 expected) { return QStringLiteral("%1/%2").arg(lost).arg(expected); }

QString pct(double ratio) { return fmt(ratio * 100, 1) + u'%'; }

} // namespace

void RelayBench::buildReport()
{
    const RelayBenchOptions &o = m_options;
    QJsonObject &json = m_report.json();
    json.insert(
        QStringLiteral("config"),
        QJsonObject{{QStringLiteral("clients"), o.clients},
                    {QStringLiteral("rounds"), o.rounds},
                    {QStringLiteral("step_ms"), o.stepMs},
                    {QStringLiteral("latency_steps"), o.latencySteps},
                    {QStringLiteral("throughput_steps"), o.throughputSteps},
                    {QStringLiteral("warmup_steps"), o.warmupSteps},
                    {QStringLiteral("preview_px"), o.previewPx},
                    {QStringLiteral("step_bytes"), double(m_previewBytes)},
                    {QStringLiteral("stalled_steps"), o.stalledSteps},
                    {QStringLiteral("stalled_flat_steps"), o.stalledFlatSteps},
                    {QStringLiteral("jobs"), o.jobs},
                    {QStringLiteral("quick"), o.quick},
                    {QStringLiteral("runner_environment"), QJsonArray::fromStringList(o.stack.runnerEnvironment)},
                    {QStringLiteral("scenarios"), QJsonArray::fromStringList(o.scenarios)}});
    if (o.scenarios.contains(u"latency"))
        latencyReport();
    if (o.scenarios.contains(u"throughput"))
        throughputReport();
    if (o.scenarios.contains(u"stalled"))
        stalledReport();
    if (o.metricsAb)
        metricsReport();
    m_report.addNote(
        QStringLiteral("latency = arrival at the client - the simulator's send stamp (CLOCK_MONOTONIC, shared by all "
                       "processes); + columns = relay minus direct at the same percentile"));
    m_report.addNote(QStringLiteral(
        "flat out: the simulator sends as fast as its slowest socket drains (1 MiB high water); fed flat out, "
        "the relay reads ComfyUI at full speed and drops previews for clients over its soft limit, by design "
        "(JSON never)"));
}

// Paced: one-way latency and loss.
void RelayBench::latencyReport()
{
    const RelayBenchOptions &o = m_options;
    QJsonObject &json = m_report.json();
    const PathTotals &ld = m_latency[0];
    const PathTotals &lr = m_latency[1];
    const double addTextP50 = lr.text.percentile(50) - ld.text.percentile(50);
    const double addTextP99 = lr.text.percentile(99) - ld.text.percentile(99);
    const double addPrevP50 = lr.preview.percentile(50) - ld.preview.percentile(50);
    const double addPrevP99 = lr.preview.percentile(99) - ld.preview.percentile(99);
    json.insert(QStringLiteral("latency"),
                QJsonObject{{QStringLiteral("direct"), ld.toJson()},
                            {QStringLiteral("relay"), lr.toJson()},
                            {QStringLiteral("added_us"),
                             QJsonObject{{QStringLiteral("progress_p50"), std::round(addTextP50)},
                                         {QStringLiteral("progress_p99"), std::round(addTextP99)},
                                         {QStringLiteral("preview_p50"), std::round(addPrevP50)},
                                         {QStringLiteral("preview_p99"), std::round(addPrevP99)}}}});
    auto latencyRow = [](const QString &name, const Samples &s, quint64 lost, quint64 expected, const Samples *base) {
        QStringList row{name,
                        QString::number(s.count()),
                        fmt(s.percentile(50)),
                        fmt(s.percentile(90)),
                        fmt(s.percentile(99)),
                        fmt(s.max()),
                        lossCell(lost, expected)};
        row << (base ? fmt(s.percentile(50) - base->percentile(50)) : QStringLiteral("-"))
            << (base ? fmt(s.percentile(99) - base->percentile(99)) : QStringLiteral("-"));
        return row;
    };
    m_report.addTable(
        QStringLiteral(
            "Paced: one-way latency, us (%1 clients, %2 steps per path at %3 ms, %4 rounds; step = progress + %5 px "
            "preview, %6 bytes)")
            .arg(o.clients)
            .arg(o.latencySteps)
            .arg(o.stepMs)
            .arg(o.rounds)
            .arg(o.previewPx)
            .arg(m_previewBytes),
        {QStringLiteral("frames"), QStringLiteral("n"), QStringLiteral("p50"), QStringLiteral("p90"),
         QStringLiteral("p99"), QStringLiteral("max"), QStringLiteral("lost"), QStringLiteral("+p50"),
         QStringLiteral("+p99")},
        {latencyRow(QStringLiteral("progress, direct"), ld.text, ld.lostTexts(), ld.expectedTexts, nullptr),
         latencyRow(QStringLiteral("progress, relay"), lr.text, lr.lostTexts(), lr.expectedTexts, &ld.text),
         latencyRow(QStringLiteral("preview, direct"), ld.preview, ld.lostPreviews(), ld.expectedPreviews, nullptr),
         latencyRow(QStringLiteral("preview, relay"), lr.preview, lr.lostPreviews(), lr.expectedPreviews,
                    &ld.preview)});

    m_report.addNote(
        QStringLiteral("CPU ms during the measured paced bursts (comfy-runner / simulator / clients / anything else): "
                       "direct path %1 / %2 / %3 / %4, relay path %5 / %6 / %7 / %8")
            .arg(ld.runnerCpuMs)
            .arg(ld.simCpuMs)
            .arg(ld.benchCpuMs)
            .arg(ld.otherCpuMs)
            .arg(lr.runnerCpuMs)
            .arg(lr.simCpuMs)
            .arg(lr.benchCpuMs)
            .arg(lr.otherCpuMs));
    m_report.addTarget(QStringLiteral("relay added latency p50, progress"), addTextP50 / 1000, 0.2, true,
                       QStringLiteral("ms"));
    m_report.addTarget(QStringLiteral("relay added latency p99, progress"), addTextP99 / 1000, 1.0, true,
                       QStringLiteral("ms"));
    m_report.addTarget(QStringLiteral("relay added latency p50, preview"), addPrevP50 / 1000, 0.2, true,
                       QStringLiteral("ms"));
    m_report.addTarget(QStringLiteral("relay added latency p99, preview"), addPrevP99 / 1000, 1.0, true,
                       QStringLiteral("ms"));
    m_report.addTarget(QStringLiteral("frames lost by healthy relay clients, paced"),
                       double(lr.lostTexts() + lr.lostPreviews()), 0, true, QStringLiteral("frames"));
}

// Throughput: direct flat out, the relay at that rate, the relay flat out.
void RelayBench::throughputReport()
{
    const RelayBenchOptions &o = m_options;
    QJsonObject &json = m_report.json();
    const PathTotals &td = m_throughput[DirectFlat];
    const PathTotals &tr = m_throughput[RelayAtDirectRate];
    const PathTotals &tf = m_throughput[RelayFlat];
    const double ratio = td.previewsPerSecond() > 0 ? tr.previewsPerSecond() / td.previewsPerSecond() : 0;
    json.insert(QStringLiteral("throughput"),
                QJsonObject{{QStringLiteral("direct_flat_out"), td.toJson()},
                            {QStringLiteral("relay_at_direct_rate"), tr.toJson()},
                            {QStringLiteral("relay_flat_out"), tf.toJson()},
                            {QStringLiteral("direct_step_interval_us"), double(m_directIntervalUs)},
                            {QStringLiteral("relay_over_direct"), std::round(ratio * 1000) / 1000}});
    auto tpRow = [](const QString &name, const PathTotals &t) {
        return QStringList{
            name,
            QStringLiteral("%1/%2").arg(t.previews).arg(t.expectedPreviews),
            pct(t.expectedPreviews ? double(t.lostPreviews()) / double(t.expectedPreviews) : 0),
            fmt(t.previewsPerSecond(), 0),
            fmt(t.mbPerSecond(), 1),
            fmt(t.seconds, 2),
            fmt(t.emitSeconds, 2),
            QStringLiteral("%1 / %2 / %3 / %4").arg(t.runnerCpuMs).arg(t.simCpuMs).arg(t.benchCpuMs).arg(t.otherCpuMs)};
    };
    m_report.addTable(
        QStringLiteral(
            "Throughput: aggregate over %1 clients, %2 steps per path (direct flat out reached one step every %3 us)")
            .arg(o.clients)
            .arg(o.throughputSteps)
            .arg(m_directIntervalUs),
        {QStringLiteral("path"), QStringLiteral("previews"), QStringLiteral("dropped"), QStringLiteral("previews/s"),
         QStringLiteral("MB/s"), QStringLiteral("s"), QStringLiteral("sim emit s"),
         QStringLiteral("cpu ms: svc / sim / clients / other")},
        {tpRow(QStringLiteral("direct, flat out"), td), tpRow(QStringLiteral("relay, at the direct rate"), tr),
         tpRow(QStringLiteral("relay, flat out"), tf)});

    m_report.addTarget(QStringLiteral("relay preview throughput at the direct rate / direct flat out"), ratio, 0.9,
                       false, QString());
}

// One stalled client among K.
void RelayBench::stalledReport()
{
    const RelayBenchOptions &o = m_options;
    QJsonObject &json = m_report.json();
    const PathTotals &tr = m_throughput[RelayAtDirectRate];
    const PathTotals &sp = m_stalledPaced;
    const PathTotals &sf = m_stalledRate;
    const double perClientNormal = tr.clients > 0 ? tr.previewsPerSecond() / tr.clients : 0;
    const double perClientStalled = sf.clients > 0 ? sf.previewsPerSecond() / sf.clients : 0;
    // "Full speed" is the rate the simulator was told to send at: one step per direct interval, as measured by
    // the throughput scenario's last round. (The throughput scenario's relay figure is not the reference: its
    // rounds may be paced at other intervals.) Without the throughput scenario the burst is flat out, where the
    // relay drops previews by design, and the speed is not judged.
    const double sentRate = m_directIntervalUs > 0 ? 1e6 / double(m_directIntervalUs) : 0;
    const double speedRatio = sentRate > 0 ? perClientStalled / sentRate : 0;
    const double vsNoStall = perClientNormal > 0 ? perClientStalled / perClientNormal : 0;
    const double rssMb = double(m_stalledInfo.value(QStringLiteral("rss_max_sampled_kb")).toDouble()) / 1024.0;
    const double peakMb = m_stalledInfo.value(QStringLiteral("rss_peak_kb")).isDouble()
        ? m_stalledInfo.value(QStringLiteral("rss_peak_kb")).toDouble() / 1024.0
        : rssMb;
    QJsonObject stalled = m_stalledInfo;
    stalled.insert(QStringLiteral("paced"), sp.toJson());
    stalled.insert(QStringLiteral("at_direct_rate"), sf.toJson());
    stalled.insert(QStringLiteral("healthy_speed_vs_sent"), std::round(speedRatio * 1000) / 1000);
    stalled.insert(QStringLiteral("healthy_speed_vs_no_stall"), std::round(vsNoStall * 1000) / 1000);
    json.insert(QStringLiteral("stalled"), stalled);
    const QJsonObject sc = m_stalledInfo.value(QStringLiteral("stalled_client")).toObject();
    m_report.addTable(
        QStringLiteral(
            "One stalled client among %1 (%2 steps at %5 ms + %3 at the direct rate, %4 jobs through the REST API "
            "meanwhile)")
            .arg(o.clients)
            .arg(o.stalledSteps)
            .arg(o.stalledFlatSteps)
            .arg(o.jobs)
            .arg(o.stepMs),
        {QStringLiteral("measure"), QStringLiteral("value")},
        {{QStringLiteral("healthy: progress lost (all bursts)"),
          lossCell(sp.lostTexts() + sf.lostTexts(), sp.expectedTexts + sf.expectedTexts)},
         {QStringLiteral("healthy: previews lost, paced"), lossCell(sp.lostPreviews(), sp.expectedPreviews)},
         {QStringLiteral("healthy: previews dropped, at the direct rate"),
          lossCell(sf.lostPreviews(), sf.expectedPreviews)},
         {QStringLiteral("healthy: progress latency p50 / p99, paced (us)"),
          fmt(sp.text.percentile(50)) + QStringLiteral(" / ") + fmt(sp.text.percentile(99))},
         {QStringLiteral("healthy: preview latency p50 / p99, paced (us)"),
          fmt(sp.preview.percentile(50)) + QStringLiteral(" / ") + fmt(sp.preview.percentile(99))},
         {QStringLiteral("healthy: previews/s per client at the direct rate / sent per client"),
          sentRate > 0 ? fmt(perClientStalled, 0) + QStringLiteral(" / ") + fmt(sentRate, 0) + QStringLiteral(" (")
                  + pct(speedRatio) + u')'
                       : fmt(perClientStalled, 0) + QStringLiteral(" / flat out (not judged)")},
         {QStringLiteral("healthy: the same vs the throughput scenario's relay run (no stalled client)"),
          pct(vsNoStall)},
         {QStringLiteral("jobs succeeded"),
          QStringLiteral("%1/%2").arg(m_stalledInfo.value(QStringLiteral("jobs_succeeded")).toInt()).arg(o.jobs)},
         {QStringLiteral("comfy-runner RSS: before / max sampled / peak (MB)"),
          fmt(m_rssBaselineKb / 1024.0) + QStringLiteral(" / ") + fmt(rssMb) + QStringLiteral(" / ") + fmt(peakMb)},
         {QStringLiteral("comfy-runner RSS: at the start / after the stalled client left (MB)"),
          fmt(m_stalledInfo.value(QStringLiteral("rss_start_kb")).toDouble() / 1024.0) + QStringLiteral(" / ")
              + fmt(m_stalledInfo.value(QStringLiteral("rss_after_stalled_left_kb")).toDouble() / 1024.0)},
         {QStringLiteral("stalled client: backlog now / peak (KB)"),
          sc.isEmpty() ? QStringLiteral("closed by the relay")
                       : fmt(sc.value(QStringLiteral("bytes_to_write")).toDouble() / 1024, 0) + QStringLiteral(" / ")
                  + fmt(sc.value(QStringLiteral("peak_backlog_bytes")).toDouble() / 1024, 0)},
         {QStringLiteral("stalled client: previews dropped / JSON queued"),
          sc.isEmpty() ? QStringLiteral("-")
                       : QString::number(sc.value(QStringLiteral("previews_dropped")).toInteger())
                  + QStringLiteral(" / ") + QString::number(sc.value(QStringLiteral("queued_messages")).toInteger())}});

    if (sentRate > 0)
        m_report.addTarget(QStringLiteral("stalled: healthy clients' speed / the rate sent"), speedRatio, 0.9, false,
                           QString());
    m_report.addTarget(QStringLiteral("stalled: frames lost by healthy clients, paced"),
                       double(sp.lostTexts() + sp.lostPreviews()), 0, true, QStringLiteral("frames"));
    m_report.addTarget(QStringLiteral("stalled: jobs completed"),
                       m_stalledInfo.value(QStringLiteral("jobs_succeeded")).toDouble(), o.jobs, false,
                       QStringLiteral("jobs"));
    m_report.addTarget(QStringLiteral("stalled: comfy-runner peak RSS"), peakMb, 64, true, QStringLiteral("MB"));
    m_report.addTarget(QStringLiteral("stalled: RSS after the stalled client left, above the start"),
                       (m_stalledInfo.value(QStringLiteral("rss_after_stalled_left_kb")).toDouble()
                        - m_stalledInfo.value(QStringLiteral("rss_start_kb")).toDouble())
                           / 1024.0,
                       10, true, QStringLiteral("MB"));
}

// --metrics-ab: the relay path on the service with metrics over the same on the service without them.
// Ratios > 1 are slower (latency) or faster (throughput) with the metrics.
void RelayBench::metricsReport()
{
    const RelayBenchOptions &o = m_options;
    auto ratio = [](double a, double b) { return b > 0 ? a / b : 0.0; };
    QJsonObject json;
    QList<QStringList> rows;
    auto latencyRows = [&](const char *key, const QString &name, const Samples &on, const Samples &off) {
        const double p50 = ratio(on.percentile(50), off.percentile(50));
        const double p99 = ratio(on.percentile(99), off.percentile(99));
        json.insert(QLatin1String(key),
                    QJsonObject{{QStringLiteral("p50_ratio"), p50}, {QStringLiteral("p99_ratio"), p99}});
        rows.append({name + QStringLiteral(" p50, us"), fmt(on.percentile(50)), fmt(off.percentile(50)), fmt(p50, 3)});
        rows.append({name + QStringLiteral(" p99, us"), fmt(on.percentile(99)), fmt(off.percentile(99)), fmt(p99, 3)});
        return p50;
    };
    if (o.scenarios.contains(u"latency")) {
        const double p50
            = latencyRows("progress", QStringLiteral("paced progress, relay"), m_latency[1].text, m_latencyOff[1].text);
        latencyRows("preview", QStringLiteral("paced preview, relay"), m_latency[1].preview, m_latencyOff[1].preview);
        rows.append({QStringLiteral("paced relay: comfy-runner CPU ms"), QString::number(m_latency[1].runnerCpuMs),
                     QString::number(m_latencyOff[1].runnerCpuMs),
                     fmt(ratio(double(m_latency[1].runnerCpuMs), double(m_latencyOff[1].runnerCpuMs)), 3)});
        m_report.addTarget(QStringLiteral("relay progress latency p50, metrics on / off"), p50, 1.02, true, QString());
    }
    if (o.scenarios.contains(u"throughput")) {
        const PathTotals &on = m_throughput[RelayFlat];
        const PathTotals &off = m_throughputOff[RelayFlat];
        const double mb = ratio(on.mbPerSecond(), off.mbPerSecond());
        json.insert(QStringLiteral("relay_flat_out"),
                    QJsonObject{{QStringLiteral("mb_per_s_ratio"), mb},
                                {QStringLiteral("previews_per_s_ratio"),
                                 ratio(on.previewsPerSecond(), off.previewsPerSecond())}});
        rows.append(
            {QStringLiteral("relay flat out, MB/s"), fmt(on.mbPerSecond(), 1), fmt(off.mbPerSecond(), 1), fmt(mb, 3)});
        rows.append({QStringLiteral("relay flat out, previews/s"), fmt(on.previewsPerSecond(), 0),
                     fmt(off.previewsPerSecond(), 0), fmt(ratio(on.previewsPerSecond(), off.previewsPerSecond()), 3)});
        m_report.addTarget(QStringLiteral("relay flat-out throughput, metrics off / on"),
                           ratio(off.mbPerSecond(), on.mbPerSecond()), 1.02, true, QString());
    }
    m_report.json().insert(QStringLiteral("metrics_on_off"), json);
    m_report.addTable(QStringLiteral("Metrics on / off (two simulator + comfy-runner pairs, alternating every round)"),
                      {QStringLiteral("figure"), QStringLiteral("on"), QStringLiteral("off"), QStringLiteral("on/off")},
                      rows);
}

} // namespace cr::bench
