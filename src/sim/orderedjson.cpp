#include "sim/orderedjson.h"

#include <QJsonArray>
#include <QJsonObject>

#include <cmath>

namespace cr::sim {

OrderedJson::OrderedJson(bool value) : m_type(Type::Bool), m_bool(value) { }
OrderedJson::OrderedJson(int value) : m_type(Type::Int), m_int(value) { }
OrderedJson::OrderedJson(qint64 value) : m_type(Type::Int), m_int(value) { }
OrderedJson::OrderedJson(double value) : m_type(Type::Float), m_float(value) { }
OrderedJson::OrderedJson(const QString &value) : m_type(Type::String), m_string(value) { }
OrderedJson::OrderedJson(const char *value) : m_type(Type::String), m_string(QString::fromUtf8(value)) { }

OrderedJson OrderedJson::object(std::initializer_list<Member> members)
{
    OrderedJson result;
    result.m_type = Type::Object;
    for (const Member &member : members)
        result.insert(member.first, member.second);
    return result;
}

OrderedJson OrderedJson::array(std::initializer_list<OrderedJson> items)
{
    OrderedJson result;
    result.m_type = Type::Array;
    result.m_items.assign(items.begin(), items.end());
    return result;
}

OrderedJson OrderedJson::fromStrings(const QStringList &strings)
{
    OrderedJson result = array();
    for (const QString &s : strings)
        result.append(s);
    return result;
}

OrderedJson OrderedJson::fromQJson(const QJsonValue &value)
{
    switch (value.type()) {
    case QJsonValue::Bool:
        return OrderedJson(value.toBool());
    case QJsonValue::Double: {
        const double d = value.toDouble();
        if (std::trunc(d) == d && std::abs(d) < 9.0e15)
            return OrderedJson(qint64(d));
        return OrderedJson(d);
    }
    case QJsonValue::String:
        return OrderedJson(value.toString());
    case QJsonValue::Array: {
        OrderedJson result = array();
        for (const QJsonValue &item : value.toArray())
            result.append(fromQJson(item));
        return result;
    }
    case QJsonValue::Object: {
        OrderedJson result = object();
        const QJsonObject obj = value.toObject();
        for (auto it = obj.begin(); it != obj.end(); ++it)
            result.insert(it.key(), fromQJson(it.value()));
        return result;
    }
    default:
        return {};
    }
}

qint64 OrderedJson::toInt() const
{
    if (m_type == Type::Float)
        return std::isfinite(m_float) ? qint64(m_float) : 0;
    if (m_type == Type::Bool)
        return m_bool ? 1 : 0;
    return m_int;
}

double OrderedJson::toDouble() const
{
    if (m_type == Type::Float)
        return m_float;
    if (m_type == Type::Int)
        return m_bigInt.isEmpty() ? double(m_int) : m_bigInt.toDouble();
    if (m_type == Type::Bool)
        return m_bool ? 1 : 0;
    return 0;
}

const OrderedJson *OrderedJson::find(QStringView key) const
{
    for (const Member &member : m_members) {
        if (member.first == key)
            return &member.second;
    }
    return nullptr;
}

OrderedJson *OrderedJson::find(QStringView key)
{
    for (Member &member : m_members) {
        if (member.first == key)
            return &member.second;
    }
    return nullptr;
}

const OrderedJson &OrderedJson::value(QStringView key) const
{
    static const OrderedJson null;
    const OrderedJson *found = find(key);
    return found ? *found : null;
}

OrderedJson &OrderedJson::insert(const QString &key, OrderedJson value)
{
    m_type = Type::Object;
    if (OrderedJson *existing = find(key)) {
        *existing = std::move(value);
        return *existing;
    }
    m_members.emplace_back(key, std::move(value));
    return m_members.back().second;
}

bool OrderedJson::remove(QStringView key)
{
    for (auto it = m_members.begin(); it != m_members.end(); ++it) {
        if (it->first == key) {
            m_members.erase(it);
            return true;
        }
    }
    return false;
}

QStringList OrderedJson::keys() const
{
    QStringList result;
    for (const Member &member : m_members)
        result.append(member.first);
    return result;
}

qsizetype OrderedJson::size() const
{
    if (m_type == Type::Array)
        return qsizetype(m_items.size());
    if (m_type == Type::Object)
        return qsizetype(m_members.size());
    return 0;
}

QStringList OrderedJson::toStringList() const
{
    QStringList result;
    for (const OrderedJson &item : m_items) {
        if (item.isString())
            result.append(item.m_string);
    }
    return result;
}

bool OrderedJson::operator==(const OrderedJson &other) const
{
    if (isNumber() && other.isNumber())
        return toDouble() == other.toDouble();
    if (m_type != other.m_type)
        return false;
    switch (m_type) {
    case Type::Null:
        return true;
    case Type::Bool:
        return m_bool == other.m_bool;
    case Type::String:
        return m_string == other.m_string;
    case Type::Array:
        return m_items == other.m_items;
    case Type::Object:
        return m_members == other.m_members;
    default:
        return false;
    }
}

QJsonValue OrderedJson::toQJson() const
{
    switch (m_type) {
    case Type::Null:
        return QJsonValue::Null;
    case Type::Bool:
        return m_bool;
    case Type::Int:
        return m_bigInt.isEmpty() ? QJsonValue(m_int) : QJsonValue(m_bigInt.toDouble());
    case Type::Float:
        return m_float;
    case Type::String:
        return m_string;
    case Type::Array: {
        QJsonArray array;
        for (const OrderedJson &item : m_items)
            array.append(item.toQJson());
        return array;
    }
    case Type::Object: {
        QJsonObject obj;
        for (const Member &m : m_members)
            obj.insert(m.first, m.second.toQJson());
        return obj;
    }
    }
    return {};
}

} // namespace cr::sim
