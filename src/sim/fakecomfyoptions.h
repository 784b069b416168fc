#pragma once
// Knobs of the fake ComfyUI's simulated execution (see FakeComfy).

#include <QSize>
#include <QString>

namespace cr::sim {

struct FakeComfyOptions {
    int steps = 0;           // > 0 overrides every sampler's `steps` input
    int stepIntervalMs = 20; // time one sampler step takes (QTimer, never a sleep)
    int nodeDelayMs = 0;     // time any other node takes after its `executing` event
    int previewSize = 512;   // ComfyUI --preview-size: long edge of the latent previews
    bool previews = true;    // --preview-method latent2rgb (true) or none (false); a prompt's
                             // extra_data.preview_method ("none", "auto", "latent2rgb", "taesd") wins
    int previewQuality = 95; // JPEG quality of previews (ComfyUI uses 95)
    QSize outputSize;        // size of generated images; invalid = the workflow's (EmptyLatentImage...)
    int modelLoadMs = 0;     // extra time of a checkpoint loader (any node with ckpt_name) that loads another
                             // checkpoint than the one loaded last (the first load too), as a GPU model switch;
                             // a cached loader costs nothing
    bool viewRanges = true;  // /view honours Range as aiohttp's FileResponse does; false: the whole file, 200
    bool modernApi = false;  // a newer ComfyUI: /features advertises "supports_job_cancel", POST
                             // /api/jobs/{id}/cancel works, and POST /prompt refuses a prompt_id that is not a
                             // canonical lowercase UUID (400 invalid_prompt_id); GET /node_replacements
                             // answers (FakeComfy::setNodeReplacements; 404 otherwise, as in 0.8)
    QString name;            // the simulator's name: /system_stats devices[0].name "cuda:0 NAME (simulated)"
};

} // namespace cr::sim
