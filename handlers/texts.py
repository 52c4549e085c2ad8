"""Every sentence a citizen (or staff member) reads, in one place, in polite Vietnamese.

Texts are light Markdown; channels render them. Placeholders use ``str.format`` names.
"""

from __future__ import annotations

# --- greeting, help, menu -------------------------------------------------------------------------
START = (
    "Xin chào! Mình là **Trợ lý số** của {ward}.\n\n"
    "Mình có thể giải đáp nhanh các câu hỏi thường gặp về thủ tục hành chính và dịch vụ công. "
    "Bạn cứ gõ câu hỏi bằng lời của mình (có dấu hay không dấu đều được), "
    "hoặc chọn một chủ đề dưới đây."
)
HELP = (
    "**Cách dùng Trợ lý số**\n"
    "- Gõ câu hỏi bằng tiếng Việt, ví dụ: «Cách cài đặt VNeID?»\n"
    "- /menu: xem các chủ đề và câu hỏi thường gặp\n"
    "- /dangky: nhận thông báo của phường/xã; /huydangky: ngừng nhận\n"
    "- /xoadulieu: xóa dữ liệu mà Trợ lý số đang lưu về bạn\n"
    "- /kiemtra kèm tin nhắn hoặc đường link: kiểm tra có dấu hiệu lừa đảo không "
    "(hoặc chuyển tiếp tin nhắn đáng ngờ cho mình)\n"
    "- Khi có nút bấm, bạn cũng có thể gõ số thứ tự (1, 2, 3…) để chọn.\n\n"
    "Cần hỗ trợ trực tiếp, bạn liên hệ: {contact}."
)
HELP_WITHOUT_NOTICES = (
    "**Cách dùng Trợ lý số**\n"
    "- Gõ câu hỏi bằng tiếng Việt, ví dụ: «Cách cài đặt VNeID?»\n"
    "- /menu: xem các chủ đề và câu hỏi thường gặp\n"
    "- /xoadulieu: xóa dữ liệu mà Trợ lý số đang lưu về bạn\n"
    "- Khi có nút bấm, bạn cũng có thể gõ số thứ tự (1, 2, 3…) để chọn.\n\n"
    "Cần hỗ trợ trực tiếp, bạn liên hệ: {contact}."
)
MENU_TOPICS = "Mời bạn chọn một chủ đề:"
MENU_QUESTIONS = "**{title}**\nMời bạn chọn câu hỏi:"
MENU_PAGE = "(trang {page}/{pages})"
NO_TOPICS = "Hiện Trợ lý số chưa có chủ đề nào. Bạn vui lòng quay lại sau nhé."
BUTTON_TOPICS = "📋 Xem các chủ đề"
BUTTON_BACK = "« Quay lại"
BUTTON_PREV = "‹ Trang trước"
BUTTON_NEXT = "Trang sau ›"
# Typed numbers of the menu's paging and back buttons, the same on every page (questions take 1–7).
NUMBER_PREV, NUMBER_NEXT, NUMBER_BACK = 8, 9, 0

# --- answers ----------------------------------------------------------------------------------------
SOURCE = "Nguồn: [{label}]({url})"
SOURCE_UNOFFICIAL = "Tham khảo thêm (không phải trang của cơ quan nhà nước): [{label}]({url})"
FEEDBACK_QUESTION = "Câu trả lời này có giúp ích cho bạn không?"
RELATED_HINT = "Bạn cũng có thể xem các câu hỏi liên quan bên dưới."
BUTTON_HELPFUL = "👍 Hữu ích"
BUTTON_NOT_HELPFUL = "👎 Chưa hữu ích"
SUGGEST = "Mình chưa chắc đã hiểu đúng ý bạn. Có phải bạn muốn hỏi một trong những câu sau không?"
ANSWER_HEADING = "📌 {question}"
BUTTON_NONE_OF_THESE = "Không phải các câu trên"
NONE_OF_THESE = (
    "Cảm ơn bạn đã cho biết. Mình đã ghi lại câu hỏi để cán bộ bổ sung câu trả lời.\n\n"
    "Bạn có thể liên hệ trực tiếp: {contact}."
)
DECLINE = (
    "Xin lỗi, hiện mình chưa có câu trả lời cho câu hỏi này. "
    "Câu hỏi của bạn đã được ghi lại để cán bộ bổ sung.\n\n"
    "Bạn có thể liên hệ trực tiếp: {contact}."
)
DECLINE_TOPICS = "Bạn cũng có thể xem các chủ đề gần với câu hỏi của mình dưới đây."

# --- feedback ---------------------------------------------------------------------------------------
THANKS_FOR_VOTE = "Cảm ơn bạn đã phản hồi! 😊"
ASK_COMMENT = (
    "Cảm ơn bạn đã cho biết. Bạn có thể nhắn ngắn gọn điều gì chưa ổn để cán bộ cải thiện câu trả lời "
    "(không bắt buộc), hoặc gõ «bỏ qua»."
)
BUTTON_SKIP = "Bỏ qua"
COMMENT_SAVED = "Cảm ơn bạn! Góp ý của bạn đã được ghi nhận."
COMMENT_SKIPPED = "Dạ vâng. Bạn cần hỏi gì thêm cứ nhắn cho mình nhé."

# --- small talk -------------------------------------------------------------------------------------
GREETING = (
    "Xin chào bạn! Mình là Trợ lý số của {ward}. Bạn cần hỏi gì cứ nhắn cho mình, hoặc chọn «Xem các chủ đề» bên dưới."
)
THANKS = "Dạ, không có gì ạ! Bạn cần hỏi thêm gì cứ nhắn cho mình nhé. 😊"
GOODBYE = "Tạm biệt bạn, chúc bạn một ngày tốt lành!"
WHO_AM_I = (
    "Mình là **Trợ lý số**, trợ lý tự động của {ward}. Mình giải đáp các câu hỏi thường gặp về thủ tục "
    "hành chính, dịch vụ công và gửi thông báo của phường/xã cho người đã đăng ký. "
    "Mình là chương trình máy tính nên có thể chưa biết hết; khi cần, bạn hãy liên hệ cán bộ phường/xã."
)
HOW_ARE_YOU = "Mình vẫn ổn, cảm ơn bạn đã hỏi thăm! Mình có thể giúp gì cho bạn ạ?"
ACKNOWLEDGE = "Dạ vâng ạ. Bạn cần hỏi gì thêm cứ nhắn cho mình nhé."
REACTION_LIKE = "Cảm ơn bạn! 😊 Bạn cần hỏi thêm gì cứ nhắn cho mình nhé."
REACTION_DISLIKE = (
    "Rất tiếc vì mình chưa giúp được bạn. Bạn có thể gõ lại câu hỏi bằng lời khác, "
    "hoặc gõ /menu để xem các chủ đề."
)
REACTION_OTHER = "Mình đã nhận được biểu tượng cảm xúc của bạn 😊. Bạn cần hỏi gì cứ gõ câu hỏi cho mình nhé."

# --- input problems ---------------------------------------------------------------------------------
EMPTY = "Tin nhắn của bạn đang trống. Bạn vui lòng gõ câu hỏi nhé."
TOO_LONG = (
    "Tin nhắn dài quá ({length} ký tự) nên mình chưa đọc được. "
    "Bạn vui lòng rút gọn, chỉ giữ lại câu hỏi chính (dưới {limit} ký tự) nhé."
)
NO_WORDS = "Mình chỉ hiểu được câu hỏi viết bằng chữ. Bạn vui lòng gõ câu hỏi, ví dụ: «Cách cài đặt VNeID?»"
JUNK = "Tin nhắn có nhiều ký tự lạ nên mình không đọc được. Bạn vui lòng gõ lại câu hỏi bằng chữ nhé."
ONLY_TEXT = "Hiện mình chỉ đọc được tin nhắn dạng chữ. Bạn vui lòng gõ câu hỏi nhé."
INVALID_BUTTON = "Nút này không còn hiệu lực. Bạn vui lòng gõ /menu để xem lại các chủ đề, hoặc gõ câu hỏi của bạn."
CHOOSE_NUMBER = "Bạn vui lòng chọn một số từ 1 đến {count}."
CHOOSE_NUMBER_OF = "Bạn vui lòng chọn một trong các số: {numbers}."
OR = "hoặc"
NUMBER_WITHOUT_CHOICES = (
    "Hiện không có lựa chọn nào đang chờ. Bạn gõ /menu để xem các chủ đề, hoặc gõ câu hỏi của bạn nhé."
)
FLOOD = (
    "Bạn đang gửi tin nhắn hơi nhanh nên mình xin tạm dừng trả lời một chút. "
    "Bạn vui lòng đợi khoảng một phút rồi hỏi tiếp nhé."
)
ERROR = "Xin lỗi, mình đang gặp trục trặc nên chưa trả lời được. Bạn vui lòng thử lại sau ít phút."

# --- privacy (/xoadulieu) ---------------------------------------------------------------------------
DELETE_EXPLAIN = (
    "Bạn muốn xóa dữ liệu mà Trợ lý số đang lưu về bạn?\n\n"
    "Những thông tin sẽ bị xóa:\n"
    "- tên hiển thị và mã người dùng của bạn trên ứng dụng nhắn tin\n"
    "- các câu hỏi bạn đã gửi, đánh giá và góp ý của bạn\n"
    "- đăng ký nhận thông báo (nếu có)\n\n"
    "Sau khi xóa sẽ không khôi phục được."
)
BUTTON_DELETE_CONFIRM = "🗑 Đồng ý xóa"
BUTTON_DELETE_CANCEL = "Hủy"
DELETED = (
    "Đã xóa toàn bộ dữ liệu Trợ lý số lưu về bạn. Nếu bạn nhắn tin tiếp, mình sẽ bắt đầu lại như với người dùng mới."
)
DELETE_CANCELLED = "Đã hủy. Dữ liệu của bạn vẫn được giữ nguyên."
DELETE_EXPIRED = "Yêu cầu xóa này đã hết hạn hoặc không phải của bạn. Nếu muốn xóa dữ liệu, bạn vui lòng gõ /xoadulieu."

# --- subscriptions ----------------------------------------------------------------------------------
SUBSCRIBED = (
    "Bạn đã đăng ký nhận thông báo của {ward}. Khi có thông báo mới, mình sẽ gửi cho bạn. "
    "Gõ /huydangky nếu muốn ngừng nhận."
)
ALREADY_SUBSCRIBED = "Bạn đã đăng ký nhận thông báo từ trước rồi. Gõ /huydangky nếu muốn ngừng nhận."
UNSUBSCRIBED = "Bạn đã ngừng nhận thông báo. Gõ /dangky nếu muốn nhận lại."
NOT_SUBSCRIBED = "Bạn chưa đăng ký nhận thông báo. Gõ /dangky nếu muốn nhận."
NOTICES_UNAVAILABLE = (
    "Xin lỗi, tại đây mình chưa gửi thông báo được. Bạn có thể nhận thông báo của {ward} "
    "qua Zalo hoặc Telegram của phường/xã, hoặc xem trên Cổng thông tin điện tử của phường/xã."
)

# --- staff ------------------------------------------------------------------------------------------
STAFF_ONLY = "Xin lỗi, lệnh này chỉ dành cho cán bộ quản trị."
RELOAD_OK = "Đã nạp lại cơ sở tri thức: {count} mục."
RELOAD_FAILED = (
    "Không nạp lại được vì cơ sở tri thức có lỗi:\n{problems}\n\nCơ sở tri thức cũ vẫn đang hoạt động bình thường."
)
RELOAD_MORE = "- … và {count} lỗi khác"
RELOAD_HELD = (
    "Mình chưa dùng bản cơ sở tri thức mới vì có dấu hiệu tệp bị chép dở hoặc mất nhiều mục:\n{problems}\n\n"
    "Bản cũ vẫn đang hoạt động. Nếu thay đổi này là đúng ý bạn, gõ /reload để xác nhận dùng bản mới."
)
# --- knowledge files sent to the bot, and /hoantac ---------------------------------------------------
UPLOAD_NOT_STAFF = (
    "Xin lỗi, Trợ lý số chỉ nhận tệp tri thức (.yaml) từ cán bộ phường/xã. "
    "Nếu bạn cần hỏi điều gì, bạn vui lòng gõ câu hỏi bằng chữ nhé."
)
UPLOAD_NOT_YAML = (
    "Mình chỉ nhận tệp tri thức có đuôi **.yaml** (ví dụ vneid.yaml). Tệp «{name}» không phải loại này nên "
    "mình chưa xem được. Anh/chị vui lòng gửi đúng tệp trong thư mục tri thức nhé."
)
UPLOAD_BAD_NAME = (
    "Tên tệp «{name}» chưa đúng quy ước: tên tệp chỉ gồm chữ thường không dấu, số và dấu gạch ngang, đuôi .yaml "
    "(ví dụ vneid.yaml, dich-vu-cong.yaml; tệp cấu hình bắt đầu bằng dấu gạch dưới, ví dụ _ward.yaml). "
    "Anh/chị đổi tên tệp cho trùng với tệp trong thư mục tri thức rồi gửi lại nhé."
)
UPLOAD_TOO_LARGE = (
    "Tệp «{name}» nặng {size} KB, lớn hơn mức tối đa {limit} KB nên mình chưa nhận. Tệp tri thức thường chỉ vài "
    "chục KB; anh/chị kiểm tra lại xem có gửi nhầm tệp không, hoặc tách thành nhiều tệp chủ đề nhé."
)
UPLOAD_BINARY = (
    "Tệp «{name}» không phải tệp văn bản (có thể là tệp Word, PDF, Excel hoặc ảnh đổi tên) nên mình chưa đọc "
    "được. Anh/chị mở tệp .yaml bằng trình soạn thảo văn bản (Notepad++, VS Code…), lưu lại rồi gửi nhé."
)
UPLOAD_NOT_UTF8 = (
    "Tệp «{name}» chưa được lưu với mã hóa UTF-8 nên chữ tiếng Việt sẽ bị lỗi. Anh/chị mở tệp, chọn lưu với "
    "mã hóa **UTF-8** rồi gửi lại nhé."
)
UPLOAD_EMPTY = "Tệp «{name}» đang trống. Anh/chị kiểm tra lại rồi gửi tệp có nội dung nhé."
UPLOAD_UNAVAILABLE = (
    "Xin lỗi, mình chưa tải được tệp này về. Anh/chị vui lòng gửi lại sau ít phút nhé. "
    "Nội dung đang dùng không thay đổi."
)
UPLOAD_NOT_HERE = (
    "Xin lỗi, tại kênh này mình chưa nhận tệp được. Anh/chị vui lòng gửi tệp tri thức qua Telegram "
    "(trong nhóm cán bộ hoặc nhắn riêng cho bot) nhé."
)
UPLOAD_NO_FOLDER = (
    "Xin lỗi, bot đang đọc tri thức từ một tệp riêng chứ không phải thư mục, nên chưa nhận tệp gửi qua tin nhắn "
    "được. Anh/chị vui lòng báo người quản trị kỹ thuật."
)
UPLOAD_INVALID = (
    "Tệp **{name}** có {count} lỗi nên mình chưa áp dụng:\n{problems}\n\n"
    "Anh/chị sửa đúng các dòng trên (tệp:dòng) rồi gửi lại tệp nhé. Nội dung đang dùng không thay đổi."
)
UPLOAD_MORE_ERRORS = "- … và {count} lỗi khác"
UPLOAD_IDENTICAL = "Tệp **{name}** giống hệt bản bot đang dùng, không có gì thay đổi."
UPLOAD_READY = "📄 Tệp **{name}** hợp lệ.\n{change}{warnings}\n\nAnh/chị có muốn áp dụng ngay không?"
UPLOAD_NEW_FILE = "Đây là **tệp mới**, gồm {count} mục."
UPLOAD_NEW_CONFIG = "Đây là **tệp cấu hình mới**."
UPLOAD_CONFIG_CHANGED = "Đây là tệp cấu hình; nội dung mới sẽ thay cho bản đang dùng."
UPLOAD_CHANGES = "So với bản đang dùng (sau khi áp dụng, tệp có {count} mục):"
UPLOAD_ADDED = "- Thêm {count} mục: {ids}"
UPLOAD_CHANGED = "- Sửa {count} mục: {ids}"
UPLOAD_REMOVED = "- Bỏ {count} mục: {ids}"
UPLOAD_OTHER_CHANGES = "- Các mục giữ nguyên; chỉ phần khác của tệp thay đổi (tên chủ đề, ghi chú…)."
UPLOAD_MORE_IDS = "{ids} và {count} mục khác"
UPLOAD_WARNINGS = "\n\nCó {count} cảnh báo (vẫn áp dụng được, nhưng nên xem lại):\n{problems}"
UPLOAD_MORE_WARNINGS = "- … và {count} cảnh báo khác"
BUTTON_UPLOAD_APPLY = "✅ Áp dụng"
BUTTON_UPLOAD_CANCEL = "❌ Hủy"
UPLOAD_EXPIRED = "Yêu cầu này đã được xử lý hoặc đã hết hạn. Nếu cần, anh/chị gửi lại tệp nhé."
UPLOAD_CANCELLED = "Đã hủy. Tệp **{name}** chưa được áp dụng; nội dung đang dùng không thay đổi."
UPLOAD_GONE = "Xin lỗi, mình không còn giữ tệp này nữa. Anh/chị vui lòng gửi lại tệp nhé."
UPLOAD_CHANGED_MEANWHILE = (
    "Tệp **{name}** vừa được sửa theo cách khác sau khi mình kiểm tra, nên mình chưa áp dụng để tránh ghi đè. "
    "Anh/chị vui lòng gửi lại tệp để mình kiểm tra lại nhé."
)
UPLOAD_APPLIED = (
    "✅ Đã áp dụng tệp **{name}**. Bot đang trả lời theo nội dung mới: {total} mục.\n"
    "Nếu cần trả lại bản trước, gõ /hoantac."
)
UPLOAD_APPLIED_NOT_LIVE = (
    "Đã lưu tệp **{name}**, nhưng bot chưa dùng được nội dung mới:\n{problems}\n\n"
    "Nội dung cũ vẫn đang phục vụ người dân. Gõ /hoantac để trả lại bản trước, hoặc sửa rồi gửi lại tệp."
)
UPLOAD_LOG_APPLIED = "📝 {who} đã áp dụng tệp tri thức **{name}** lúc {when}."
UNDO_NOTHING = "Chưa có lần áp dụng tệp tri thức nào để hoàn tác."
UNDO_ASK = (
    "Lần áp dụng gần nhất: tệp **{name}**, do {who} gửi lúc {when}.\n{what}\n\nAnh/chị có chắc muốn hoàn tác không?"
)
UNDO_RESTORE = "Hoàn tác sẽ trả tệp về bản trước lần áp dụng đó."
UNDO_REMOVE = "Đó là một tệp mới, nên hoàn tác sẽ xóa tệp này khỏi thư mục tri thức."
BUTTON_UNDO_CONFIRM = "↩️ Hoàn tác"
BUTTON_UNDO_CANCEL = "❌ Không"
UNDO_CANCELLED = "Đã giữ nguyên, không hoàn tác."
UNDO_CHANGED = (
    "Tệp **{name}** đã được sửa thêm sau lần áp dụng đó, nên mình không hoàn tác để tránh mất nội dung mới. "
    "Anh/chị gửi lại bản mong muốn dưới dạng tệp nhé."
)
UNDO_GONE = "Xin lỗi, bản trước của tệp **{name}** không còn được lưu nên không hoàn tác được."
UNDO_DONE = "↩️ Đã hoàn tác lần áp dụng tệp **{name}**. Bot đang trả lời theo {total} mục."
UNDO_DONE_NOT_LIVE = (
    "Đã trả tệp **{name}** về bản trước, nhưng bot chưa nạp lại được:\n{problems}\n\n"
    "Nội dung đang phục vụ người dân vẫn là bản hợp lệ gần nhất."
)
UNDO_LOG = "📝 {who} đã hoàn tác lần áp dụng tệp tri thức **{name}** lúc {when}."
UPLOAD_SOMEONE = "một cán bộ"

ALERT_STORAGE = (
    "⚠️ Trợ lý số không ghi được vào cơ sở dữ liệu ({reason}). Bot vẫn trả lời người dân nhưng chưa lưu được "
    "câu hỏi. Anh/chị kiểm tra giúp dung lượng ổ đĩa hoặc máy chủ cơ sở dữ liệu."
)
ALERT_COMPONENT = "⚠️ Trợ lý số gặp sự cố ở phần «{component}»: {reason}"

# --- the command menu shown by Telegram ------------------------------------------------------------
COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("start", "Bắt đầu trò chuyện với Trợ lý số"),
    ("menu", "Xem các chủ đề hỏi đáp"),
    ("help", "Hướng dẫn sử dụng"),
    ("dangky", "Đăng ký nhận thông báo của phường/xã"),
    ("huydangky", "Hủy đăng ký nhận thông báo"),
    ("kiemtra", "Kiểm tra tin nhắn hoặc đường link đáng ngờ"),
    ("hoicanbo", "Gửi câu hỏi tới cán bộ phường/xã"),
    ("phananh", "Gửi phản ánh, kiến nghị tới phường/xã"),
    ("tracuu", "Tra cứu tình trạng phản ánh của tôi"),
    ("xoadulieu", "Xóa dữ liệu của tôi mà Trợ lý số lưu"),
)
STAFF_COMMAND_MENU: tuple[tuple[str, str], ...] = (
    ("thongbao", "Gửi thông báo đến người đã đăng ký"),
    ("lichthongbao", "Xem và hủy thông báo đã hẹn giờ"),
    ("hangdoi", "Câu hỏi và phản ánh đang chờ cán bộ"),
    ("thongke", "Thống kê sử dụng 7 ngày qua"),
    ("reload", "Nạp lại cơ sở tri thức"),
    ("hoantac", "Hoàn tác lần cập nhật tệp tri thức gần nhất"),
)

# --- terminal chat ----------------------------------------------------------------------------------
TERMINAL_WELCOME = (
    "Trò chuyện thử với Trợ lý số ngay trong cửa sổ dòng lệnh. "
    "Gõ câu hỏi rồi nhấn Enter; gõ số để chọn nút; gõ /quit (hoặc Ctrl-D) để thoát."
)
TERMINAL_BYE = "Tạm biệt!"
TERMINAL_BOT = "Trợ lý số"
TERMINAL_NO_FILE = (
    "Không mở được tệp «{path}». Gõ /tailen kèm đường dẫn tới tệp .yaml, ví dụ: /tailen knowledge/vneid.yaml"
)

# --- staff statistics (/thongke) --------------------------------------------------------------------
STATS_HEADER = "📊 **Thống kê {days} ngày qua** (đến {until})"
STATS_BODY = (
    "- Câu hỏi: {questions} (trả lời ngay {answered}, gợi ý {suggested}, chưa trả lời được {declined})\n"
    "- Tỉ lệ trả lời ngay: {rate}\n"
    "- Người đặt câu hỏi: {askers}; người dùng mới: {new_users}\n"
    "- Đánh giá: 👍 {helpful} · 👎 {unhelpful}\n"
    "- Đang nhận thông báo: {subscribers} người"
)
STATS_NO_QUESTIONS = "Chưa có câu hỏi nào trong khoảng thời gian này."
STATS_PER_DAY = "Theo ngày: {days}"
STATS_TOP_ENTRIES = "**Mục được hỏi nhiều nhất:**"
STATS_TOP_ENTRY = "{n}. {question} ({count} lượt)"
STATS_UNANSWERED = "**Câu hỏi chưa trả lời tốt nhiều nhất:**"
STATS_UNANSWERED_ITEM = "{n}. «{text}» ({count} lượt)"
STATS_UNANSWERED_CLOSEST = "   gần nhất với mục: {question}"
STATS_HINT = "Danh sách đầy đủ: chạy `python -m bot report unanswered --since {days}d` trên máy chủ."
STATS_USAGE = "Cách dùng: /thongke (7 ngày qua) hoặc /thongke 30 (số ngày, từ 1 đến {max_days})."

# --- announcements: subscription choices, notices, staff broadcasting -----------------------------------
SUBSCRIPTION_CHOICES = (
    "**Chủ đề bạn nhận:** {topics}\n**Khu vực:** {area}\n\n"
    "Bạn bấm vào chủ đề để bật/tắt, chọn khu vực (tổ dân phố/thôn) của mình, hoặc gõ /huydangky để ngừng nhận."
)
SUBSCRIPTION_ALL_TOPICS = "tất cả các chủ đề"
SUBSCRIPTION_WHOLE_WARD = "toàn phường/xã"
SUBSCRIPTION_SAVED = "Đã lưu lựa chọn của bạn."
SUBSCRIPTION_NOT_ACTIVE = "Bạn chưa đăng ký nhận thông báo. Gõ /dangky để đăng ký nhé."
BUTTON_AREA_ALL = "Toàn phường/xã"
BUTTON_AREA_PREFIX = "📍 "
BUTTON_TOPIC_ON = "✅ "
BUTTON_TOPIC_OFF = "⬜ "
BUTTON_SUBSCRIPTION_DONE = "Xong"
BUTTON_RESUBSCRIBE = "🔔 Đăng ký lại"
NOTICE_FOOTER = "—\nBạn nhận tin này vì đã đăng ký nhận thông báo. Bấm nút dưới đây nếu không muốn nhận nữa."
BUTTON_UNSUBSCRIBE = "Hủy nhận thông báo"

NOTICE_USAGE = (
    "Cách dùng: gõ /thongbao rồi nội dung thông báo trên cùng một tin nhắn, ví dụ:\n"
    "/thongbao Từ ngày 01/4, bộ phận một cửa nhận hồ sơ cả sáng thứ Bảy."
)
NOTICE_TOO_LONG = "Nội dung thông báo dài {length} ký tự, vượt giới hạn {limit}. Anh/chị vui lòng rút gọn lại."
NOTICE_PREVIEW_HEAD = "👀 **Xem trước** — người dân sẽ nhận đúng như tin dưới đây:"
NOTICE_PANEL = (
    "**Chủ đề:** {topic}\n**Khu vực:** {area}\n**Số người sẽ nhận (hiện tại):** {count}\n\n"
    "Chọn chủ đề, khu vực, rồi bấm «Gửi ngay» hoặc «Hẹn giờ». Chưa có gì được gửi đi."
)
NOTICE_ALL_TOPICS = "tất cả người đăng ký"
NOTICE_WHOLE_WARD = "toàn phường/xã"
BUTTON_SEND_NOW = "📤 Gửi ngay"
BUTTON_SCHEDULE = "⏰ Hẹn giờ"
BUTTON_NOTICE_CANCEL = "Hủy"
BUTTON_CONFIRM_SEND = "✅ Xác nhận gửi"
BUTTON_CONFIRM_SCHEDULE = "✅ Xác nhận hẹn giờ"
BUTTON_BACK_TO_PANEL = "« Quay lại"
NOTICE_CONFIRM_NOW = "Gửi thông báo này ngay tới **{count}** người ({topic}, {area})? Bấm «Xác nhận gửi» để gửi."
NOTICE_ASK_TIME = "Anh/chị gõ ngày giờ muốn gửi (giờ Việt Nam), dạng **ngày/tháng/năm giờ:phút**, ví dụ: {example}"
NOTICE_BAD_TIME = "Chưa đọc được ngày giờ này. Anh/chị gõ lại theo dạng ngày/tháng/năm giờ:phút, ví dụ: {example}"
NOTICE_PAST_TIME = "Thời điểm này đã qua. Anh/chị chọn một thời điểm trong tương lai nhé."
NOTICE_CONFIRM_LATER = (
    "Hẹn gửi thông báo này lúc **{when}** tới những người đăng ký ({topic}, {area})? Bấm «Xác nhận hẹn giờ»."
)
NOTICE_EXPIRED = "Bản nháp thông báo đã hết hạn hoặc đã được xử lý. Anh/chị gõ lại /thongbao kèm nội dung nhé."
NOTICE_CANCELLED = "Đã hủy, không có thông báo nào được gửi."
NOTICE_STARTED = "📤 Đang bắt đầu gửi thông báo #{id} tới {count} người…"
NOTICE_SCHEDULED = "⏰ Đã hẹn gửi thông báo #{id} lúc {when}. Gõ /lichthongbao để xem hoặc hủy."
NOTICE_PROGRESS = (
    "📤 Đang gửi thông báo #{id}\n"
    "Đã gửi: {sent}/{total} · Lỗi: {failed} · Chặn bot: {blocked} · Còn lại: {remaining}\n"
    "Ước tính còn: {eta}"
)
NOTICE_ETA_UNKNOWN = "đang tính"
NOTICE_FINAL = (
    "✅ Đã gửi xong thông báo #{id}.\n"
    "Đã gửi: {sent}/{total} · Lỗi: {failed} · Chặn bot: {blocked} · Bỏ qua: {skipped}\n"
    "Thời gian: {duration}"
)
NOTICE_SKIP_REASON = "- Bỏ qua {count} người: {reason}."
NOTICE_SKIP_NO_REASON = "không rõ lý do"
NOTICE_FINAL_CANCELLED = "⛔ Thông báo #{id} đã bị hủy. Đã gửi {sent}/{total} người trước khi hủy."
NOTICE_MISSED = (
    "⚠️ Thông báo hẹn lúc {when} đã **không được gửi** vì lúc đó Trợ lý số không chạy (quá thời gian cho phép "
    "gửi bù). Nội dung:\n\n{text}\n\nNếu vẫn cần, anh/chị gõ /thongbao để gửi lại."
)
SCHEDULE_EMPTY = "Hiện không có thông báo nào đang hẹn giờ hoặc đang gửi."
SCHEDULE_HEAD = "**Thông báo đang hẹn giờ / đang gửi:**"
SCHEDULE_ITEM_SCHEDULED = "#{id} · ⏰ {when} · {topic} · {preview}"
SCHEDULE_ITEM_SENDING = "#{id} · 📤 đang gửi {sent}/{total} · {preview}"
SCHEDULE_PLANNED_HEAD = "**Thông báo định kỳ (tệp _schedule.yaml):**"
SCHEDULE_PLANNED_ITEM = "{id} · {when} · {preview}"
BUTTON_CANCEL_BROADCAST = "Hủy #{id}"
BROADCAST_CANCELLED = "Đã hủy thông báo #{id}."
BROADCAST_NOT_CANCELLABLE = "Thông báo #{id} không còn hủy được (đã gửi xong, đã hủy hoặc không tồn tại)."
STAFF_USAGE = "Cách dùng: /themcanbo <mã Telegram> để thêm, /xoacanbo <mã Telegram> để bỏ, /canbo để xem danh sách."
STAFF_ADDED = "Đã thêm cán bộ {id}. Người này có thể dùng /thongbao và /lichthongbao."
STAFF_ALREADY = "Cán bộ {id} đã có trong danh sách."
STAFF_REMOVED = "Đã bỏ cán bộ {id} khỏi danh sách."
STAFF_NOT_FOUND = (
    "Không có cán bộ {id} trong danh sách (quản trị khai báo trong ADMIN_TELEGRAM_IDS không bỏ được ở đây)."
)
STAFF_LIST = "**Cán bộ được gửi thông báo:**\n{items}"
STAFF_LIST_EMPTY = "(chưa có ai ngoài quản trị khai báo trong cấu hình)"

# --- Zalo OA ------------------------------------------------------------------------------------------
FOLLOW_GREETING = (
    "Cảm ơn bạn đã quan tâm Zalo OA của {ward}! Mình là **Trợ lý số**, luôn sẵn sàng giải đáp các câu hỏi "
    "thường gặp về thủ tục hành chính và dịch vụ công.\n\n"
    "Bạn cứ gõ câu hỏi bằng lời của mình, hoặc chọn một mục bên dưới. "
    "Gõ /dangky để nhận thông báo mới của phường/xã qua Zalo."
)
BUTTON_FOLLOW_SUBSCRIBE = "🔔 Nhận thông báo (/dangky)"
TYPE_TO_CHOOSE = "Bạn gõ {numbers} để chọn."  # channels without buttons: the choices written out, numbered
ZALO_SKIPPED_OUTSIDE_WINDOW = (
    "Zalo chỉ cho gửi tin miễn phí tới người đã nhắn cho OA trong vòng 48 giờ; người này chưa tương tác gần đây"
)
ZALO_REFRESH_REFUSED = (
    "⚠️ Zalo từ chối làm mới mã truy cập của Zalo OA (mã lỗi {code}: {reason}). Trợ lý số trên Zalo sẽ không "
    "gửi được tin nhắn cho đến khi quản trị viên cấp mã mới (ZALO_OA_ACCESS_TOKEN, ZALO_OA_REFRESH_TOKEN) "
    "và khởi động lại Trợ lý số."
)
MESSENGER_SKIPPED_OUTSIDE_WINDOW = (
    "Messenger chỉ cho trang gửi tin tới người đã nhắn cho trang trong vòng 24 giờ; người này chưa nhắn gần đây"
)
MESSENGER_TOKEN_REFUSED = (
    "⚠️ Facebook từ chối mã truy cập của trang ({reason}). Trợ lý số trên Messenger sẽ không gửi được tin nhắn "
    "cho đến khi quản trị viên tạo mã mới cho trang, đặt vào MESSENGER_PAGE_ACCESS_TOKEN và khởi động lại Trợ lý số."
)

# --- "is this a scam?" (/kiemtra, forwarded or pasted messages) -------------------------------------
SCAM_LEVEL = {
    "danger": "🔴 **Nguy hiểm: tin nhắn này có dấu hiệu lừa đảo rõ ràng.**",
    "suspicious": "🟠 **Đáng ngờ: tin nhắn này có dấu hiệu thường gặp ở tin nhắn lừa đảo.**",
    "none": "🟢 **Chưa thấy dấu hiệu lừa đảo rõ ràng.**",
}
SCAM_NONE_CAUTION = (
    "Mình chỉ kiểm tra được những dấu hiệu đã biết, nên không thể khẳng định tin nhắn an toàn tuyệt đối. "
    "Nếu ai đó đòi mã OTP, mật khẩu, đòi chuyển tiền hay bảo cài ứng dụng, bạn hãy dừng lại và hỏi người thân "
    "hoặc cán bộ trước."
)
SCAM_SIGNS_TITLE = "**Dấu hiệu tìm thấy**"
# One plain sentence per signal; {detail} is a domain or a short name, never the message itself.
SCAM_SIGNALS = {
    "link_lookalike": "Đường link «{detail}» bắt chước tên miền chính thức (viết sai một vài chữ hoặc ghép thêm chữ).",
    "link_homoglyph": "Đường link «{detail}» dùng chữ nước ngoài trông giống chữ thường để giả tên miền chính thức.",
    "link_idn": "Đường link «{detail}» có ký tự lạ hoặc có dấu; trang thật của cơ quan, ngân hàng không dùng kiểu này.",
    "link_bad_punycode": "Đường link «{detail}» bị mã hóa sai, trình duyệt không đọc được tên thật của nó.",
    "link_blocked": "Tên miền «{detail}» nằm trong danh sách lừa đảo mà phường/xã đã ghi nhận.",
    "link_apk": "Đường link «{detail}» tải thẳng tệp cài đặt (.apk): cài vào là kẻ gian có thể điều khiển điện thoại.",
    "link_shortener": "Đường link rút gọn ({detail}) che mất trang thật mà nó dẫn tới.",
    "link_ip": "Đường link dẫn tới một dãy số ({detail}) thay vì tên miền; trang chính thức không làm vậy.",
    "link_risky_tld": "Tên miền «{detail}» có đuôi rẻ tiền hay bị kẻ gian dùng (như .xyz, .top, .vip).",
    "link_unknown": "Tin nhắn có đường link «{detail}» không thuộc trang chính thức nào mà mình biết.",
    "link_action": "Tin nhắn thúc bạn bấm vào đường link.",
    "gov_link_not_official": (
        "Tin nhắn xưng là cơ quan nhà nước nhưng đường link «{detail}» không phải trang .gov.vn chính thức."
    ),
    "asks_secret": "Tin nhắn đòi mã OTP, mật khẩu hoặc số thẻ: cơ quan, ngân hàng thật không bao giờ hỏi như vậy.",
    "install_app": "Tin nhắn bảo cài ứng dụng hoặc phần mềm theo hướng dẫn của người lạ.",
    "safe_account": "Tin nhắn đòi chuyển tiền vào «tài khoản an toàn» để «xác minh»: cơ quan nhà nước không làm vậy.",
    "recovery_offer": "Tin nhắn hứa «lấy lại tiền bị lừa»: đây là kiểu lừa đảo lần hai.",
    "fee_to_receive": "Tin nhắn báo bạn được nhận tiền hoặc quà nhưng phải nộp phí trước.",
    "threat": "Tin nhắn dọa phạt, bắt, triệu tập hoặc nói bạn dính vào vụ án để bạn hoảng sợ.",
    "urgency": "Tin nhắn hối thúc: dọa khóa tài khoản, cắt dịch vụ hoặc đặt hạn rất gấp.",
    "lure": "Tin nhắn hứa trúng thưởng, hoàn tiền, trợ cấp hoặc lợi nhuận cao.",
    "money_request": "Tin nhắn yêu cầu chuyển khoản, đặt cọc hoặc đóng phí.",
    "personal_account": (
        "Tin nhắn đòi chuyển tiền vào tài khoản cá nhân; cơ quan, trường học, doanh nghiệp thật thu qua tài khoản "
        "của đơn vị."
    ),
    "emergency": (
        "Tin nhắn báo người thân gặp nạn, cần tiền gấp: hãy gọi thẳng cho người thân hoặc nhà trường, bệnh viện "
        "để kiểm tra."
    ),
    "wrong_transfer": "Tin nhắn nói «chuyển nhầm» rồi đòi trả vào tài khoản khác: chỉ trả lại qua ngân hàng của bạn.",
    "move_to_chat": "Tin nhắn kéo bạn sang Zalo, Telegram để «làm việc»: cơ quan, ngân hàng không làm việc qua đó.",
    "impersonation": "Tin nhắn xưng là {detail}; hãy tự gọi số chính thức để hỏi lại, đừng gọi số trong tin nhắn.",
}
SCAM_AUTHORITIES = {
    "police": "công an",
    "court": "tòa án, viện kiểm sát",
    "customs": "hải quan",
    "insurance": "bảo hiểm xã hội",
    "tax": "cơ quan thuế",
    "government": "cơ quan nhà nước",
    "electricity": "điện lực",
    "bank": "ngân hàng",
    "carrier": "nhà mạng",
}
SCAM_WHAT_TO_DO = (
    "**Bạn nên làm gì ngay**\n"
    "- Không bấm vào đường link, không cài ứng dụng, không đọc mã OTP hay mật khẩu cho ai.\n"
    "- Không chuyển tiền, dù người nhắn xưng là công an, ngân hàng hay cán bộ.\n"
    "- Nếu đã chuyển tiền hoặc lộ thông tin: gọi ngay tổng đài ngân hàng để khóa tài khoản, "
    "báo công an phường/xã ({police}) hoặc gọi 113.\n"
    "- Báo cáo đường link lừa đảo tại [canhbao.khonggianmang.vn](https://canhbao.khonggianmang.vn); "
    "tin nhắn SMS rác, lừa đảo: soạn S (số gửi) (nội dung) gửi 5656 hoặc 156 (miễn phí)."
)
SCAM_CONTACT = "Cần hỏi thêm, bạn liên hệ: {contact}."
SCAM_MORE = "Xem thêm hướng dẫn cụ thể:"
SCAM_USAGE = (
    "Bạn hãy gõ /kiemtra rồi dán tin nhắn hoặc đường link cần kiểm tra ở phía sau, ví dụ:\n"
    "/kiemtra Quý khách được hoàn tiền, truy cập bit.ly/abc để nhận\n\n"
    "Bạn cũng có thể chuyển tiếp (forward) tin nhắn đáng ngờ cho mình."
)
# --- web chat widget on the ward's portal -----------------------------------------------------------
# Reason staff see for a web chat visitor skipped by an announcement (the widget has no push).
WEBCHAT_SKIPPED_NO_PUSH = "trò chuyện trên trang web không nhận được thông báo"
# What the widget itself shows; served inside widget.js.
WEBCHAT_UI: dict[str, str] = {
    "title": "Trợ lý số",
    "subtitle": "Hỏi đáp thủ tục hành chính, dịch vụ công",
    "launcher": "Hỏi Trợ lý số",
    "open_label": "Mở khung trò chuyện với Trợ lý số",
    "close_label": "Đóng khung trò chuyện",
    "dialog_label": "Trò chuyện với Trợ lý số",
    "log_label": "Nội dung trò chuyện",
    "input_label": "Câu hỏi của bạn",
    "placeholder": "Gõ câu hỏi, ví dụ: cách cài VNeID",
    "send": "Gửi",
    "you": "Bạn",
    "bot": "Trợ lý số",
    "typing": "Trợ lý số đang trả lời…",
    "unreachable": (
        "Hiện không kết nối được với Trợ lý số. Bạn vui lòng kiểm tra mạng rồi bấm «Thử lại», "
        "hoặc liên hệ trực tiếp với phường/xã."
    ),
    "refused": "Trợ lý số chưa được bật trên trang này. Bạn vui lòng liên hệ phường/xã để được hỗ trợ.",
    "too_fast": "Bạn đang gửi hơi nhanh. Bạn vui lòng đợi một chút rồi gửi lại nhé.",
    "too_long": "Tin nhắn dài quá. Bạn vui lòng rút gọn câu hỏi nhé.",
    "retry": "Thử lại",
    "new_tab": "(mở trong thẻ mới)",
    "answer_buttons": "Các lựa chọn",
}

# --- a person when the bot is not enough: questions for staff -----------------------------------------
BUTTON_ASK_STAFF = "🙋 Hỏi cán bộ phường"
HANDOFF_UNAVAILABLE = (
    "Hiện Trợ lý số chưa kết nối được với cán bộ trực. Bạn vui lòng liên hệ trực tiếp: {contact}."
)
HANDOFF_ASK_WHAT = (
    "Bạn muốn hỏi cán bộ phường điều gì? Bạn nhắn câu hỏi trong một tin, mình sẽ chuyển ngay cho cán bộ trực."
)
HANDOFF_NO_QUESTION = "Bạn nhắn câu hỏi bằng chữ giúp mình nhé."
HANDOFF_SENT = (
    "✅ Mình đã chuyển câu hỏi của bạn tới cán bộ phường (mã hỏi đáp #{id}). Cán bộ sẽ trả lời bạn ngay tại đây."
)
HANDOFF_SENT_CLOSED = (
    "\n\nHiện đang ngoài giờ làm việc. Cán bộ sẽ trả lời từ {time} {day}, ngày {date}."
)
HANDOFF_RELAY_FAILED = (
    "Xin lỗi, mình chưa chuyển được câu hỏi tới cán bộ. Bạn vui lòng thử lại sau ít phút "
    "hoặc liên hệ trực tiếp: {contact}."
)
HANDOFF_STAFF_NEW = "🙋 **Câu hỏi #{id} cần cán bộ trả lời**\nTừ: {who}\n\n{question}"
HANDOFF_STAFF_CONTEXT = "\n\nTrao đổi gần đây với Trợ lý số:\n{lines}"
HANDOFF_STAFF_HOW = "\n\nBấm «Tôi nhận» rồi trả lời (reply) vào tin này; câu trả lời sẽ được gửi tới công dân."
BUTTON_CLAIM = "🙋 Tôi nhận"
HANDOFF_CLAIMED = "👤 {name} đã nhận câu hỏi #{id}. Trả lời (reply) vào tin câu hỏi để gửi cho công dân."
HANDOFF_CLAIMED_BY_OTHER = "Câu hỏi #{id} đã do {name} nhận trước; bạn không cần trả lời nữa."
HANDOFF_ALREADY_ANSWERED = "Câu hỏi #{id} đã được trả lời rồi."
HANDOFF_NOT_FOUND = "Không tìm thấy câu hỏi hoặc phản ánh này (có thể công dân đã xóa dữ liệu của mình)."
HANDOFF_ONLY_STAFF = "Chỉ cán bộ trong danh sách mới trả lời công dân được. Bạn nhờ quản trị viên thêm bằng /themcanbo."
HANDOFF_ANSWER_TO_CITIZEN = "💬 **Cán bộ phường trả lời** câu hỏi của bạn (#{id}):\n\n{answer}"
HANDOFF_DELIVERED = "✅ Đã gửi câu trả lời tới công dân (câu hỏi #{id})."
HANDOFF_NOT_DELIVERED = (
    "⚠️ Chưa gửi được câu trả lời cho câu hỏi #{id} tới công dân ({reason}). Câu hỏi vẫn do bạn giữ; "
    "bạn có thể trả lời lại sau."
)
BUTTON_SAVE_DRAFT = "📚 Lưu vào kho tri thức"
HANDOFF_DRAFT_SAVED = (
    "📚 Đã lưu bản nháp «{entry}» vào tệp {file}. Cán bộ biên tập lại, thêm nguồn rồi chuyển sang tệp chủ đề "
    "phù hợp; công dân chưa thấy bản nháp này."
)
HANDOFF_DRAFT_NOT_READY = "Câu hỏi #{id} chưa có câu trả lời của cán bộ để lưu."
HANDOFF_DRAFT_FAILED = "⚠️ Không lưu được bản nháp: {reason}"
HANDOFF_REMINDER = "⏰ Câu hỏi #{id} đã chờ {minutes} phút mà chưa có cán bộ nhận:\n\n{question}"
QUEUE_EMPTY = "Không có câu hỏi hay phản ánh nào đang chờ. 👍"
QUEUE_HEADER = "📋 **Đang chờ cán bộ**"
QUEUE_TICKET = "• Câu hỏi #{id} ({age}, {state}): {question}"
QUEUE_REPORT = "• Phản ánh {code} ({age}, {state}): {topic}: {description}"
QUEUE_UNCLAIMED = "chưa ai nhận"
QUEUE_CLAIMED_BY = "{name} đang giữ"
AGE_MINUTES = "{n} phút"
AGE_HOURS = "{n} giờ"
AGE_DAYS = "{n} ngày"
WEEKDAYS = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
CITIZEN_LABEL = "Công dân {tag} ({channel})"
CHANNEL_NAMES = {"telegram": "Telegram", "zalo": "Zalo", "messenger": "Messenger", "webchat": "web phường",
                 "terminal": "máy tính", "test": "thử nghiệm"}

# --- citizens' reports (phản ánh, kiến nghị) --------------------------------------------------------------
REPORT_UNAVAILABLE = (
    "Hiện Trợ lý số chưa nhận phản ánh qua kênh này. Bạn vui lòng liên hệ trực tiếp: {contact}."
)
REPORT_CHOOSE_TOPIC = (
    "📮 **Gửi phản ánh, kiến nghị tới phường**\nBạn chọn lĩnh vực (bấm «Hủy» để dừng):"
)
REPORT_ASK_DESCRIPTION = (
    "Lĩnh vực: {topic}.\nBạn mô tả ngắn gọn sự việc: chuyện gì, từ khi nào, ảnh hưởng thế nào."
)
REPORT_DESCRIPTION_SHORT = "Bạn mô tả rõ hơn một chút giúp mình (ít nhất vài từ) nhé."
REPORT_ASK_LOCATION = "Sự việc ở đâu? (số nhà, tên đường, tổ dân phố…). Nếu không cần, bấm «Bỏ qua»."
REPORT_ASK_PHOTO = "Bạn có thể gửi **một ảnh** chụp hiện trường. Nếu không có, bấm «Bỏ qua»."
REPORT_ASK_CONTACT = (
    "Bạn có muốn để lại số điện thoại hoặc cách liên hệ để cán bộ trao đổi thêm không? "
    "Không bắt buộc: bấm «Bỏ qua» nếu không muốn."
)
REPORT_CONFIRM = (
    "Bạn kiểm tra lại phản ánh:\n\n• Lĩnh vực: {topic}\n• Nội dung: {description}\n• Địa điểm: {location}\n"
    "• Ảnh: {photo}\n• Liên hệ: {contact}\n\nBấm «Gửi phản ánh» để gửi tới phường."
)
REPORT_NONE = "không có"
REPORT_HAS_PHOTO = "có 1 ảnh"
BUTTON_SKIP = "Bỏ qua"
BUTTON_SEND_REPORT = "✅ Gửi phản ánh"
BUTTON_CANCEL = "✖️ Hủy"
REPORT_CANCELLED = "Đã hủy, phản ánh chưa được gửi."
REPORT_EXPIRED = "Phiên gửi phản ánh đã hết hạn. Bạn gõ /phananh để bắt đầu lại nhé."
REPORT_RECEIVED = (
    "✅ Phường đã nhận phản ánh của bạn. **Mã phản ánh: {code}**\n"
    "Bạn gõ /tracuu {code} để xem tình trạng xử lý; mình cũng sẽ báo bạn mỗi khi có tiến triển."
)
REPORT_STAFF_NEW = (
    "📮 **Phản ánh mới {code}**\nTừ: {who}\nLĩnh vực: {topic}\nNội dung: {description}\nĐịa điểm: {location}\n"
    "Liên hệ: {contact}{photo}\n\nBấm «Tôi xử lý» để nhận; trả lời (reply) vào tin này để gửi câu trả lời; "
    "bấm «Đã xong» khi hoàn tất."
)
REPORT_STAFF_PHOTO = "\n📷 Có ảnh đính kèm (tin ngay trên)."
BUTTON_ASSIGN = "🙋 Tôi xử lý"
BUTTON_CLOSE = "✅ Đã xong"
REPORT_ASSIGNED_STAFF = "👤 {name} nhận xử lý phản ánh {code}."
REPORT_ASSIGNED_OTHER = "Phản ánh {code} đã do {name} nhận xử lý."
REPORT_ASSIGNED_CITIZEN = "📮 Phản ánh {code} của bạn đã được cán bộ phường tiếp nhận và đang xử lý."
REPORT_REPLY_CITIZEN = "📮 **Cán bộ phường trả lời phản ánh {code}:**\n\n{reply}"
REPORT_REPLY_DELIVERED = "✅ Đã gửi câu trả lời tới người phản ánh ({code})."
REPORT_REPLY_REFUSED = "Phản ánh {code} đã đóng hoặc do cán bộ khác xử lý."
REPORT_CLOSED_CITIZEN = (
    "✅ Phản ánh {code} của bạn đã được xử lý xong và đóng lại. Cảm ơn bạn đã góp ý cho phường!"
)
REPORT_CLOSED_STAFF = "✅ Phản ánh {code} đã đóng; người phản ánh đã được báo."
REPORT_ALREADY_CLOSED = "Phản ánh {code} đã đóng trước đó."
REPORT_CITIZEN_NOT_TOLD = "⚠️ Chưa báo được người phản ánh ({reason})."
TRACK_USAGE = "Bạn gõ /tracuu kèm mã phản ánh, ví dụ: /tracuu PA-2026-00042"
TRACK_NOT_FOUND = (
    "Mình không tìm thấy phản ánh mã {code} trong các phản ánh bạn đã gửi. Bạn kiểm tra lại mã giúp mình nhé."
)
TRACK_STATUS = "📮 Phản ánh **{code}** ({topic}), gửi lúc {created}:\nTình trạng: **{status}**{reply}"
TRACK_REPLY = "\n\nCán bộ trả lời: {reply}"
REPORT_STATUS_NAMES = {"new": "đã tiếp nhận, chờ cán bộ xử lý", "assigned": "cán bộ đang xử lý",
                       "replied": "cán bộ đã trả lời", "closed": "đã xử lý xong"}


# --- channel contract: late answers after a restart, bad button data, staff-only commands ------------
INBOUND_LATE = (
    "Xin lỗi bạn, tin nhắn trước của bạn chưa được trả lời kịp vì hệ thống vừa gặp sự cố. "
    "Bạn vui lòng gửi lại câu hỏi để mình trả lời nhé."
)
