#pragma once
// The answers every FakeComfy route shares (aiohttp's bodies), for fakecomfyhttp.cpp and fakecomfyfiles.cpp.

#include "sim/fakehttpserver.h"
#include "sim/orderedjson.h"

namespace cr::sim {

// aiohttp's answer to an unhandled exception in a handler; it closes the connection.
inline FakeHttpResponse serverError()
{
    FakeHttpResponse r = FakeHttpResponse::text("500 Internal Server Error\n\nServer got itself in trouble", 500);
    r.closeConnection = true;
    return r;
}

inline FakeHttpResponse notFound() { return FakeHttpResponse::text("404: Not Found", 404); }

inline FakeHttpResponse json(const OrderedJson &value, int status = 200)
{
    return FakeHttpResponse::json(value.dump(), status);
}

} // namespace cr::sim
