#pragma once
// A small JSON value for the fake ComfyUI that behaves like Python's json module: objects keep their key
// order, ints and floats stay apart (7 vs 7.0), ints beyond 64 bits survive, and dump() writes what
// json.dumps writes (", " / ": " separators, ensure_ascii). QJsonObject sorts keys and merges number types,
// so frames built with it would not look like ComfyUI's.

#include <QByteArray>
#include <QByteArrayView>
#include <QJsonValue>
#include <QString>
#include <QStringList>

#include <initializer_list>
#include <optional>
#include <utility>
#include <vector>

namespace cr::sim {

class OrderedJson
{
public:
    enum class Type { Null, Bool, Int, Float, String, Array, Object };
    using Member = std::pair<QString, OrderedJson>;

    OrderedJson() = default;
    OrderedJson(std::nullptr_t) { }
    OrderedJson(bool value);
    OrderedJson(int value);
    OrderedJson(qint64 value);
    OrderedJson(double value); // always a float: dumps as "1.0"
    OrderedJson(const QString &value);
    OrderedJson(const char *value);

    static OrderedJson object(std::initializer_list<Member> members = {});
    static OrderedJson array(std::initializer_list<OrderedJson> items = {});
    static OrderedJson fromStrings(const QStringList &strings);
    // Parses JSON text; nullopt when it is not valid JSON (the caller answers 500 like ComfyUI).
    static std::optional<OrderedJson> parse(QByteArrayView text, QString *error = nullptr);
    static OrderedJson fromQJson(const QJsonValue &value);

    Type type() const { return m_type; }
    bool isNull() const { return m_type == Type::Null; }
    bool isBool() const { return m_type == Type::Bool; }
    bool isInt() const { return m_type == Type::Int; }
    bool isFloat() const { return m_type == Type::Float; }
    bool isNumber() const { return m_type == Type::Int || m_type == Type::Float; }
    bool isString() const { return m_type == Type::String; }
    bool isArray() const { return m_type == Type::Array; }
    bool isObject() const { return m_type == Type::Object; }

    bool toBool() const { return m_bool; }
    qint64 toInt() const;    // floats truncate, like Python int()
    double toDouble() const; // ints convert
    QString toString() const { return m_string; }

    // Objects (insertion order).
    bool contains(QStringView key) const { return find(key) != nullptr; }
    const OrderedJson *find(QStringView key) const;
    OrderedJson *find(QStringView key);
    const OrderedJson &value(QStringView key) const;            // a shared null when missing
    OrderedJson &insert(const QString &key, OrderedJson value); // replaces in place, else appends
    bool remove(QStringView key);
    QStringList keys() const;
    const std::vector<Member> &members() const { return m_members; }

    // Arrays.
    qsizetype size() const;
    const OrderedJson &at(qsizetype index) const { return m_items.at(size_t(index)); }
    void append(OrderedJson value) { m_items.push_back(std::move(value)); }
    const std::vector<OrderedJson> &items() const { return m_items; }
    QStringList toStringList() const; // string items only

    QByteArray dump() const;    // json.dumps(value)
    QJsonValue toQJson() const; // for tests and introspection
    QString pyStr() const;      // Python str(value): True, None, 7.0, ['a', 1]

    bool operator==(const OrderedJson &other) const;

    static QByteArray pyFloat(double value);     // repr(float)
    static QString pyRepr(const QString &value); // repr(str): 'abc'

private:
    Type m_type = Type::Null;
    bool m_bool = false;
    qint64 m_int = 0;
    double m_float = 0;
    QString m_string;
    QByteArray m_bigInt; // the digits of an int that does not fit in qint64
    std::vector<OrderedJson> m_items;
    std::vector<Member> m_members;

    friend class OrderedJsonParser;
    void dumpTo(QByteArray &out) const;
};

} // namespace cr::sim
