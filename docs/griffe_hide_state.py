"""A griffe extension for the API reference: leave out a class's undocumented instance attributes.

Those are a layer's or callback's stored state (`self.filters = ...`): their names are the
documented constructor arguments, and their values are implementation. Module-level names,
methods, properties and documented attributes are kept.
"""
import griffe


class HideUndocumentedState(griffe.Extension):
    def on_class_members(self, *, cls, **kwargs):
        for name, member in list(cls.members.items()):
            if (not member.is_alias and member.is_attribute and "instance-attribute" in member.labels
                    and not member.docstring):
                del cls.members[name]
