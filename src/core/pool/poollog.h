#pragma once
// The pool's logging category ("comfyrunner.pool", defined in backendpool.cpp), declared once for the module.

#include <QLoggingCategory>

Q_DECLARE_LOGGING_CATEGORY(lcPool)
